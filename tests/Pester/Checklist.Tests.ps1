# Get-RelocationChecklist and Confirm-RelocationChecklistItem on copies of the sample estate: every item evaluated
# from the receipts of the real capabilities (the preflight against loopback sshd and HTTP), evidence of another
# relocation or of files changed since not counted, and the confirmations a person records.

BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'common.ps1')
    . (Join-Path $PSScriptRoot 'PreflightFixture.ps1')
    $script:noHosts = Test-TestPreflightAvailable
    if ($noHosts) { Write-Warning "Checklist preflight scenarios skipped: $noHosts" }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    . (Join-Path $PSScriptRoot 'PreflightFixture.ps1')
    $script:Ns = 'InfraRelocation.Commands.Cmdlets'
    $script:WarningPreference = 'SilentlyContinue'
    function Get-Checklist([string] $Root, [string[]] $Phase = @('PreCutover', 'PostCutover', 'PostCleanup')) {
        $items = @{}
        Get-RelocationChecklist -Root $Root -Phase $Phase | Where-Object { $_ -is [InfraRelocation.Gates.ChecklistItem] } | ForEach-Object { $items[$_.Id] = $_ }
        $items
    }
    function Get-ReceiptCount([string] $Root) {
        $ledger = Join-Path $Root 'receipts' 'ledger.jsonl'
        if (Test-Path $ledger) { @(Get-Content $ledger | Where-Object { $_.Trim() }).Count } else { 0 }
    }
}

Describe 'Get-RelocationChecklist' {
    It 'lists the three checklists in the protocol''s order, each item with its state, evidence and next command, and records a receipt' {
        $root = New-TestEstate -Name checklist
        $out = Get-RelocationChecklist -Root $root
        $items = @($out | Where-Object { $_ -is [InfraRelocation.Gates.ChecklistItem] })
        $items.Count | Should -Be 20
        ($items | Group-Object Phase | ForEach-Object { "$($_.Name)=$($_.Count)" }) -join ' ' | Should -Be 'PreCutover=12 PostCutover=5 PostCleanup=3'
        $items[0].Id | Should -Be 'PRE.ManifestComplete'
        $items[0].State | Should -Be 'Done'
        $items | Select-Object -Skip 1 | ForEach-Object { $_.State | Should -Be 'Missing'; $_.Command | Should -Not -BeNullOrEmpty }
        ($items | Where-Object Id -EQ 'PRE.Preflight').Command | Should -Be 'Invoke-RelocationPreflight'
        $receipt = $out | Where-Object { $_ -is [InfraRelocation.Receipts.ChecklistReceipt] }
        $receipt.Capability | Should -Be 'infra.relocation.checklist'
        $receipt.Outcome | Should -Be 'Failed'
        $receipt.ChangeId | Should -Be 'CHG-2026-1118-SPLIT-LEGACY'
        $receipt.Summary | Should -Be '1 of 20 checklist item(s) done, 19 missing'
        (Get-RelocationChecklist -Root $root -Phase PostCleanup | Where-Object { $_ -is [InfraRelocation.Gates.ChecklistItem] }).Id |
            Should -Be @('CLEAN.Decommissioned', 'CLEAN.StateComplete', 'CLEAN.OpenLoopClosed')
        # The default view groups by checklist and names the next command.
        $text = Get-RelocationChecklist -Root $root -Phase PreCutover | Out-String -Width 120
        $text | Should -Match 'Missing\s+Placement policy passes'
        $text | Should -Match 'Test-PlacementPolicy'
    }

    It 'turns an item Done with the run id of the real capability, Failed when it fails, and Missing once a file it read changes' {
        $root = New-TestEstate -Name checklist-reads
        Test-PlacementPolicy -Root $root | Out-Null
        Test-HypervisorIdentity -Root $root | Out-Null
        $parity = Invoke-RelocationParity -Root $root | Where-Object { $_ -is [InfraRelocation.Receipts.GateReceipt] }
        $parity.Outcome | Should -Be 'Passed'
        $items = Get-Checklist $root PreCutover
        $items['PRE.PlacementPolicy'].State | Should -Be 'Done'
        $items['PRE.HypervisorIdentity'].State | Should -Be 'Done'
        $items['PRE.Parity'].State | Should -Be 'Done'
        $items['PRE.Parity'].RunId | Should -Be $parity.RunId
        $items['PRE.Parity'].Evidence | Should -Match ([regex]::Escape($parity.RunId))

        # A VMID outside its site's range: placement fails, and its item says why.
        $manifest = Join-Path $root 'ops/bindings/infra.relocation.plan.yaml'
        [IO.File]::WriteAllText($manifest, ([IO.File]::ReadAllText($manifest) -replace 'vm_id: "216"', 'vm_id: "399"'))
        Test-PlacementPolicy -Root $root -ErrorAction SilentlyContinue | Out-Null
        $items = Get-Checklist $root PreCutover
        $items['PRE.PlacementPolicy'].State | Should -Be 'Failed'
        $items['PRE.PlacementPolicy'].Evidence | Should -Match 'D37\.'
        # The parity run read the manifest before that edit: it no longer describes the estate.
        $items['PRE.Parity'].State | Should -Be 'Missing'
        $items['PRE.Parity'].Evidence | Should -Match 'read files that changed since: ops/bindings/infra.relocation.plan.yaml'
    }

    It 'counts only the active relocation''s evidence: a new relocation starts with an empty checklist' {
        $root = New-TestEstate -Name checklist-next
        Invoke-RelocationParity -Root $root | Out-Null
        (Get-Checklist $root PreCutover)['PRE.Parity'].State | Should -Be 'Done'
        $manifest = Join-Path $root 'ops/bindings/infra.relocation.plan.yaml'
        [IO.File]::WriteAllText($manifest, ([IO.File]::ReadAllText($manifest) -replace '(?m)^  state: "preflight"', '  state: "complete"'))
        Close-Relocation -Root $root -Confirm:$false | Out-Null
        Start-Relocation -Root $root -ChangeId CHG-NEXT -Owner '@ops' -Confirm:$false | Out-Null
        $items = Get-Checklist $root PreCutover
        $items['PRE.Parity'].State | Should -Be 'Missing'
        $items['PRE.Parity'].ChangeId | Should -Be 'CHG-NEXT'
    }

    It 'stops with NoActiveRelocation when no relocation is in flight' {
        $root = New-TestEstate -Name checklist-none
        $manifest = Join-Path $root 'ops/bindings/infra.relocation.plan.yaml'
        [IO.File]::WriteAllText($manifest, ([IO.File]::ReadAllText($manifest) -replace '(?m)^  state: "preflight"', '  state: "complete"'))
        Close-Relocation -Root $root -Confirm:$false | Out-Null
        { Get-RelocationChecklist -Root $root -ErrorAction Stop } | Should -Throw -ErrorId "NoActiveRelocation,$Ns.GetRelocationChecklistCommand"
    }
}

Describe 'The preflight items from the real preflight against loopback hosts' -Skip:([bool]$noHosts) {
    BeforeAll { $script:Hosts = Start-TestPreflightHosts -Prefix ck }
    AfterAll { Stop-TestPreflightHosts $script:Hosts }

    It 'a passing preflight completes the preflight and backup items; a failing one marks the preflight Failed' {
        $root = New-TestEstate -Name checklist-preflight
        $pf = Add-TestPreflightEvidence -Root $root -Hosts $Hosts
        $items = Get-Checklist $root PreCutover
        $items['PRE.Preflight'].State | Should -Be 'Done'
        $items['PRE.Preflight'].RunId | Should -Be $pf.RunId
        $items['PRE.BackupsVerified'].State | Should -Be 'Done'
        $items['PRE.BackupsVerified'].Evidence | Should -Match 'verified \d+ backup'

        $failing = New-TestEstate -Name checklist-preflight-503
        $bad = Add-TestPreflightEvidence -Root $failing -Hosts $Hosts -Unhealthy wiki -AllowFailure
        $bad.Outcome | Should -Be 'Failed'
        $items = Get-Checklist $failing PreCutover
        $items['PRE.Preflight'].State | Should -Be 'Failed'
        $items['PRE.Preflight'].Evidence | Should -Match 'PREFLIGHT.Unhealthy'
        $items['PRE.Preflight'].Command | Should -Be 'Invoke-RelocationPreflight'
    }
}

Describe 'Confirm-RelocationChecklistItem' {
    It 'records who confirmed the impact review and the evidence link; a preview does not count' {
        $root = New-TestEstate -Name confirm
        { Confirm-RelocationChecklistItem -Root $root -Item ImpactReviewed -ConfirmedBy cab-chair -Evidence CAB-118 -ErrorAction Stop } |
            Should -Throw -ErrorId "ChecklistImpactNotRun,$Ns.ConfirmRelocationChecklistItemCommand"
        $impact = Get-RelocationImpact -Root $root | Where-Object { $_ -is [InfraRelocation.Receipts.ImpactReceipt] }
        (Get-Checklist $root PreCutover)['PRE.ImpactReviewed'].Command | Should -Match '^Confirm-RelocationChecklistItem -Item ImpactReviewed'

        $preview = Confirm-RelocationChecklistItem -Root $root -Item ImpactReviewed -ConfirmedBy cab-chair -Evidence CAB-118 -WhatIf
        $preview.Outcome | Should -Be 'Previewed'
        (Get-Checklist $root PreCutover)['PRE.ImpactReviewed'].State | Should -Be 'Missing'

        $r = Confirm-RelocationChecklistItem -Root $root -Item ImpactReviewed -ConfirmedBy cab-chair -Evidence 'https://tickets.example/CAB-118'
        $r | Should -BeOfType ([InfraRelocation.Receipts.ChecklistConfirmationReceipt])
        $r.Outcome | Should -Be 'Succeeded'
        $r.ConfirmedBy | Should -Be 'cab-chair'
        $r.ReviewedRunId | Should -Be $impact.RunId
        $item = (Get-Checklist $root PreCutover)['PRE.ImpactReviewed']
        $item.State | Should -Be 'Done'
        $item.Evidence | Should -Match 'Reviewed by cab-chair'
        $item.Evidence | Should -Match 'https://tickets.example/CAB-118'

        # The stack registry changes by hand: the reviewed impact no longer describes the estate.
        Add-Content (Join-Path $root 'ops/governance/STACK_REGISTRY.yaml') '# edited by hand'
        (Get-Checklist $root PreCutover)['PRE.ImpactReviewed'].State | Should -Be 'Missing'
    }

    It 'refuses blank evidence and post-cleanup items before cleanup, recording nothing' {
        $root = New-TestEstate -Name confirm-early
        $count = Get-ReceiptCount $root
        { Confirm-RelocationChecklistItem -Root $root -Item OpenLoopClosed -ConfirmedBy '@mkoenig' -Evidence 'OL-2026-118' -ErrorAction Stop } |
            Should -Throw -ErrorId "ChecklistConfirmationTooEarly,$Ns.ConfirmRelocationChecklistItemCommand"
        { Confirm-RelocationChecklistItem -Root $root -Item OpenLoopClosed -ConfirmedBy '@mkoenig' -Evidence ' ' -ErrorAction Stop } |
            Should -Throw -ErrorId "ChecklistConfirmationIncomplete,$Ns.ConfirmRelocationChecklistItemCommand"
        Get-ReceiptCount $root | Should -Be $count
    }
}
