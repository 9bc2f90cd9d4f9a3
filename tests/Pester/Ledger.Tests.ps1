# The receipt ledger end to end (docs/design/ledger.md): a torn tail is reported and repaired, a ledger that cannot
# be written (torn, read-only, full) stops a change before anything is written while read-only evidence still returns
# its result with a warning, the ledger moves with $env:INFRA_RELOCATION_RECEIPTS, and Test-RelocationReceiptChain
# writes nothing.

BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'common.ps1')
    . (Join-Path $PSScriptRoot 'PreflightFixture.ps1')
    $script:noPreflightHosts = Test-TestPreflightAvailable
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    . (Join-Path $PSScriptRoot 'PreflightFixture.ps1')
    $script:Ns = 'InfraRelocation.Commands.Commands'

    function Get-EstateDigest([string] $Root) {
        # every estate file except the ledger and the tool's own state
        Get-ChildItem $Root -Recurse -File -Force | Where-Object { $_.FullName -notmatch '[\\/](receipts|\.infra-relocation)[\\/]' } |
            Sort-Object FullName | ForEach-Object { "$($_.FullName) $((Get-FileHash $_.FullName).Hash)" }
    }

    # A small tmpfs over the estate's receipts folder (needs root); returns $null with the reason when refused.
    function Mount-Receipts([string] $Root, [string] $Options) {
        if (-not $IsLinux) { return 'not Linux' }
        $folder = Join-Path $Root 'receipts'
        New-Item -ItemType Directory -Force $folder | Out-Null
        $out = & mount -t tmpfs -o $Options tmpfs $folder 2>&1
        if ($LASTEXITCODE -ne 0) { return "mount -t tmpfs was refused ($out)" }
        $script:Mounts.Add($folder)
        $null
    }

    $script:Mounts = [Collections.Generic.List[string]]::new()
    $script:ProbeRoot = New-TestEstate -Name probe
    $script:MountSkip = Mount-Receipts $ProbeRoot 'size=64k'
}

AfterAll {
    foreach ($m in $script:Mounts) { & umount $m 2>&1 | Out-Null }
}

Describe 'A torn ledger' {
    BeforeEach {
        $script:root = New-TestEstate -Name torn
        Invoke-RelocationParity -Root $root -WarningAction SilentlyContinue | Out-Null
        Invoke-RelocationParity -Root $root -WarningAction SilentlyContinue | Out-Null
        $script:ledger = Join-Path $root 'receipts/ledger.jsonl'
        $script:intact = (Get-Item $ledger).Length
        $script:tornText = '{"hash":"0f0f","type":"InfraRelocation.Receipts.GateRec'
        [IO.File]::AppendAllText($ledger, $tornText)
    }

    It 'is reported by file and byte offset, and the receipts before it still verify' {
        $result = Test-RelocationReceiptChain -Root $root -WarningVariable warned -WarningAction SilentlyContinue
        $result.IsValid | Should -BeFalse
        $result.Break | Should -Be 'Torn'
        $result.BrokenAtOffset | Should -Be $intact
        $result.ReceiptCount | Should -Be 2
        $result.Findings[0].RuleId | Should -Be 'RECEIPT.ChainTorn'
        "$warned" | Should -Match "receipts/ledger.jsonl:3:1 \(byte $intact\)"
        @(Get-RelocationReceipt -Root $root -WarningAction SilentlyContinue).Count | Should -Be 2
    }

    It 'does not stop read-only evidence: the gate returns its result and exit code with a warning' {
        $code = Invoke-RelocationGate -Root $root -AsExitCode -WarningVariable warned -WarningAction SilentlyContinue -InformationAction SilentlyContinue
        $code | Should -BeIn 0, 1
        "$warned" | Should -Match 'Evidence was not recorded \(ReceiptLedgerTorn\)'
    }

    It 'stops a change before anything is written' {
        $before = Get-EstateDigest $root
        { Set-RelocationServiceStatus -Root $root -Service bookmarks -Status shadow -Force -Reason 'ledger test: the SSOTs are not moved' -Confirm:$false -ErrorAction Stop -WarningAction SilentlyContinue } |
            Should -Throw -ErrorId "ReceiptLedgerTorn,$Ns.SetRelocationServiceStatusCommand"
        Get-EstateDigest $root | Should -Be $before
        Test-Path (Join-Path $root '.infra-relocation/journal/*.json') | Should -BeFalse
    }

    It 'is repaired by Repair-RelocationReceiptChain, which keeps the cut bytes and records the repair' {
        Repair-RelocationReceiptChain -Root $root -WhatIf
        (Get-Item $ledger).Length | Should -BeGreaterThan $intact
        $repair = Repair-RelocationReceiptChain -Root $root -Confirm:$false -WarningAction SilentlyContinue
        $repair.TruncatedAtOffset | Should -Be $intact
        $repair.RemovedBytes | Should -Be $tornText.Length
        Get-Content -Raw (Join-Path $root $repair.SavedAs) | Should -Be $tornText
        $chain = Test-RelocationReceiptChain -Root $root
        $chain.IsValid | Should -BeTrue
        $chain.ReceiptCount | Should -Be 3
        (Get-RelocationReceipt -Root $root)[-1].Capability | Should -Be 'infra.relocation.receipts.repair'
        $receipt = Set-RelocationServiceStatus -Root $root -Service bookmarks -Status shadow -Force -Reason 'ledger test: the SSOTs are not moved' -Confirm:$false -WarningAction SilentlyContinue
        $receipt.Outcome | Should -Be 'Succeeded'
    }

    It 'refuses to "repair" an edited receipt' {
        $lines = @(Get-Content $ledger | Select-Object -First 2)
        $lines[0] = $lines[0].Replace('"Mode":"Read"', '"Mode":"Execute"')
        Set-Content $ledger $lines
        { Repair-RelocationReceiptChain -Root $root -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId "ReceiptChainNotTorn,$Ns.RepairRelocationReceiptChainCommand"
    }
}

Describe 'A ledger that cannot be written' {
    It 'read-only: the change is refused before anything is written; the gate still answers' -Skip:([bool]$MountSkip) {
        $root = New-TestEstate -Name readonly
        Mount-Receipts $root 'size=1m,ro' | Should -BeNullOrEmpty
        $before = Get-EstateDigest $root
        { Set-RelocationServiceStatus -Root $root -Service bookmarks -Status shadow -Force -Reason 'ledger test: the SSOTs are not moved' -Confirm:$false -ErrorAction Stop -WarningAction SilentlyContinue } |
            Should -Throw -ErrorId "ReceiptLedgerUnwritable,$Ns.SetRelocationServiceStatusCommand"
        Get-EstateDigest $root | Should -Be $before
        $gate = @(Invoke-RelocationGate -Root $root -WarningVariable warned -WarningAction SilentlyContinue)
        $gate[-1] | Should -BeOfType InfraRelocation.Receipts.GateReceipt
        "$warned" | Should -Match 'Evidence was not recorded \(ReceiptLedgerUnwritable\)'
    }

    It 'full: the change is refused before anything is written' -Skip:([bool]$MountSkip) {
        $root = New-TestEstate -Name full
        Mount-Receipts $root 'size=64k' | Should -BeNullOrEmpty
        $filler = Join-Path $root 'receipts/filler'
        try { [IO.File]::WriteAllBytes($filler, [byte[]]::new(1MB)) } catch { } # fills the 64 KiB file system
        $before = Get-EstateDigest $root
        { Set-RelocationServiceStatus -Root $root -Service bookmarks -Status shadow -Force -Reason 'ledger test: the SSOTs are not moved' -Confirm:$false -ErrorAction Stop -WarningAction SilentlyContinue } |
            Should -Throw -ErrorId "ReceiptLedgerUnwritable,$Ns.SetRelocationServiceStatusCommand"
        Get-EstateDigest $root | Should -Be $before
        Test-Path (Join-Path $root '.infra-relocation/journal/*.json') | Should -BeFalse
    }
}

Describe 'Where the ledger is' {
    It '$env:INFRA_RELOCATION_RECEIPTS moves it for a run' {
        $root = New-TestEstate -Name elsewhere
        $elsewhere = Join-Path $TestDrive "ledger-$([guid]::NewGuid().ToString('n').Substring(0, 6))"
        $run = Invoke-InFreshPwsh { param($Root, $Folder) $env:INFRA_RELOCATION_RECEIPTS = $Folder; Invoke-RelocationParity -Root $Root | Out-Null } -ArgumentList $root, $elsewhere
        $run.ExitCode | Should -Be 0 -Because $run.Errors
        Test-Path (Join-Path $elsewhere 'ledger.jsonl') | Should -BeTrue
        Test-Path (Join-Path $root 'receipts') | Should -BeFalse
    }

    It 'Test-RelocationReceiptChain writes nothing' {
        $root = New-TestEstate -Name verify
        Invoke-RelocationParity -Root $root -WarningAction SilentlyContinue | Out-Null
        $ledger = Join-Path $root 'receipts/ledger.jsonl'
        $before = Get-FileHash $ledger
        (Test-RelocationReceiptChain -Root $root).ReceiptCount | Should -Be 1
        (Get-FileHash $ledger).Hash | Should -Be $before.Hash
    }
}

Describe 'Guards verify the chain before they trust evidence' -Skip:([bool]$noPreflightHosts) {
    BeforeAll { $script:Hosts = Start-TestPreflightHosts -Prefix lg }
    AfterAll { Stop-TestPreflightHosts $script:Hosts }

    It 'refuses cutover when the preflight evidence was edited after it was written' {
        $root = New-TestEstate -Name forged
        # A real preflight that fails (wiki answers 503), then turned into a passing one by hand.
        (Add-TestPreflightEvidence -Root $root -Hosts $Hosts -Unhealthy wiki -AllowFailure).Outcome | Should -Be 'Failed'
        $ledger = Join-Path $root 'receipts/ledger.jsonl'
        $lines = @(Get-Content $ledger)
        $lines[-1] = $lines[-1].Replace('"Outcome":"Failed"', '"Outcome":"Passed"')  # turn a failed preflight into a passing one
        Set-Content $ledger $lines
        $err = { Set-RelocationState -Root $root -State cutover -ApprovedBy cab-chair -Confirm:$false -ErrorAction Stop -WarningAction SilentlyContinue } |
            Should -Throw -ErrorId "TransitionBlocked,$Ns.SetRelocationStateCommand" -PassThru
        $err.Exception.Findings.RuleId | Should -Contain 'TRANSITION.LedgerChainBroken'
    }
}
