# End-to-end tests of the relocation lifecycle: Close-Relocation archives a complete relocation into
# completed_relocations (active_relocation: null), Start-Relocation starts the next one; both are byte-preserving
# transactions with receipts, refused in the wrong state.

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:Manifest = 'ops/bindings/infra.relocation.plan.yaml'
    $script:Ns = 'InfraRelocation.Commands.Cmdlets'

    function Set-ManifestState([string] $Root, [string] $State) {
        $path = Join-Path $Root $Manifest
        [IO.File]::WriteAllText($path, [IO.File]::ReadAllText($path).Replace('  state: "preflight"', "  state: `"$State`""))
    }
}

Describe 'Close-Relocation and Start-Relocation' {
    It 'refuses to archive a relocation that is not complete, and to start one while one is active' {
        $root = New-TestEstate -Name lifecycle
        $before = [IO.File]::ReadAllBytes((Join-Path $root $Manifest))
        { Close-Relocation -Root $root -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId "RelocationNotComplete,$Ns.CloseRelocationCommand"
        $err = { Start-Relocation -Root $root -ChangeId CHG-NEXT -Owner '@ops' -ErrorAction Stop } |
            Should -Throw -ErrorId "RelocationAlreadyActive,$Ns.StartRelocationCommand" -PassThru
        $err.Exception.Message | Should -Match 'CHG-2026-1118-SPLIT-LEGACY'
        [IO.File]::ReadAllBytes((Join-Path $root $Manifest)) | Should -Be $before
        (Get-RelocationReceipt -Root $root | Select-Object -Last 1).Outcome | Should -Be 'Blocked'
    }

    It 'archives a complete relocation with its evidence, then starts the next one; only the block lines change' {
        $root = New-TestEstate -Name lifecycle
        Set-ManifestState $root 'complete'
        $path = Join-Path $root $Manifest
        $before = [IO.File]::ReadAllText($path)

        $preview = Close-Relocation -Root $root -WhatIf
        $preview.Outcome | Should -Be 'Previewed'
        [IO.File]::ReadAllText($path) | Should -BeExactly $before

        $closed = Close-Relocation -Root $root -Confirm:$false
        $closed.Outcome | Should -Be 'Succeeded'
        $closed.Action | Should -Be 'archive'
        $closed.ChangeId | Should -Be 'CHG-2026-1118-SPLIT-LEGACY'
        $closed.Diff | Should -Match '\+active_relocation: null'
        $m = Get-RelocationManifest -Root $root
        $m.ActiveRelocation | Should -BeNullOrEmpty
        $m.CompletedRelocations.ChangeId | Should -Contain 'CHG-2026-1118-SPLIT-LEGACY'
        ($m.CompletedRelocations | Select-Object -Last 1).CompletedAt | Should -Match '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$'
        $after = [IO.File]::ReadAllText($path)
        $tail = $before.IndexOf('# ----')
        # every other byte stays; the change anchors the ledger's head in one line at the end (docs/design/ledger.md)
        $after.Substring($after.IndexOf('# ----')) | Should -Match ('\A' + [regex]::Escape($before.Substring($tail)) + 'ledger_anchor: tx [0-9a-f]{12} after (start|[0-9a-f]{64})\n\z')
        (Test-RelocationManifest -Root $root | Where-Object Severity -EQ 'Error') | Should -BeNullOrEmpty
        { Close-Relocation -Root $root -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId "NoActiveRelocation,$Ns.CloseRelocationCommand"

        $started = Start-Relocation -Root $root -ChangeId 'CHG-2027-0001' -Owner '@mkoenig'
        $started.Outcome | Should -Be 'Succeeded'
        $started.Action | Should -Be 'start'
        $a = (Get-RelocationManifest -Root $root).ActiveRelocation
        $a.ChangeId | Should -Be 'CHG-2027-0001'
        $a.StateText | Should -Be 'planning'
        $a.Owner | Should -Be '@mkoenig'
        { Start-Relocation -Root $root -ChangeId 'CHG-2026-1118-SPLIT-LEGACY' -Owner x -ErrorAction Stop } | Should -Throw -ErrorId "RelocationAlreadyActive,$Ns.StartRelocationCommand"
        (Test-RelocationReceiptChain -Root $root).IsValid | Should -BeTrue
        (Get-RelocationReceipt -Root $root -Capability infra.relocation.archive | Where-Object Outcome -EQ Succeeded) | Should -HaveCount 1
        (Get-RelocationReceipt -Root $root -Capability infra.relocation.start | Where-Object Outcome -EQ Succeeded) | Should -HaveCount 1
    }
}
