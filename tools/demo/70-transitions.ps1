# Demo step: the sample estate's relocation from its start (Start-Relocation) to archived, through the capabilities,
# with the protocol's checklists turning green item by item (Get-RelocationChecklist) and each state guard waiting
# for its list. Runs inside tools/Invoke-Demo.ps1 on a throw-away copy ($WalkRoot) of the demo estate, so the demo
# estate itself stays as it is.
#
# No stand-in evidence: the estate's hosts are local OpenSSH servers on 127.0.0.1 (hypervisors with their pinned
# machine ids, in private namespaces when running as root) and a loopback HTTP responder behind every health_url
# (tests/Pester/PreflightFixture.ps1), and every receipt comes from running the capability. Where sshd cannot run
# here the walk is not shown (the cutover guard needs a real preflight receipt) and the reason is printed.

. (Join-Path $RepoRoot 'tests/Pester/PreflightFixture.ps1')

$WalkRoot = Join-Path ([IO.Path]::GetTempPath()) "infra-relocation-walk-$([guid]::NewGuid().ToString('n').Substring(0, 8))"
New-Item -ItemType Directory $WalkRoot | Out-Null
Copy-Item (Join-Path $DemoRoot 'ops') (Join-Path $WalkRoot 'ops') -Recurse
$ledgerPath = Join-Path $WalkRoot 'receipts' 'ledger.jsonl'

function Show-Checklist([string] $Phase, [string] $Why) {
    Write-DemoStep "Checklist ${Phase}: $Why"
    Write-DemoCommand "Get-RelocationChecklist -Root `$WalkRoot -Phase $Phase"
    $items = @(Get-RelocationChecklist -Root $WalkRoot -Phase $Phase | Where-Object { $_ -is [InfraRelocation.Gates.ChecklistItem] })
    $items | Format-Table State, Title, @{ Label = 'Evidence / next command'; Expression = { if ($_.Command) { "$($_.Evidence) Next: $($_.Command)" } else { $_.Evidence } } } -Wrap | Out-Host
    Write-Host "$(@($items | Where-Object IsDone).Count) of $($items.Count) done."
}

Write-DemoStep 'Transitions: a private copy of the demo estate, as it was before its relocation started'
Write-DemoCommand '$WalkRoot = <temp folder>; Copy-Item $DemoRoot/ops $WalkRoot/ops -Recurse'
Write-Host $WalkRoot
# The plan (services, VM targets, phases) is prepared in the manifest; nothing is in flight yet.
$manifestPath = Join-Path $WalkRoot 'ops' 'bindings' 'infra.relocation.plan.yaml'
[IO.File]::WriteAllText($manifestPath, [regex]::Replace([IO.File]::ReadAllText($manifestPath), '(?ms)^active_relocation:\r?\n.*?(?=^completed_relocations:)', "active_relocation: null`n`n"))
Write-Host 'active_relocation: null (the services and VM targets are planned; no relocation is in flight)'

Write-DemoStep 'Start the relocation: a command with a receipt, never a free edit'
Write-DemoCommand "Start-Relocation -Root `$WalkRoot -ChangeId 'CHG-2026-1118-SPLIT-LEGACY' -Owner '@mkoenig' -Confirm:`$false | Format-List Outcome, Summary, Diff"
Start-Relocation -Root $WalkRoot -ChangeId 'CHG-2026-1118-SPLIT-LEGACY' -Owner '@mkoenig' -Confirm:$false | Format-List Outcome, Summary, Diff | Out-Host

Write-DemoStep 'Leave planning: the mutation guard judges the estate as preflight will apply D35 and D37'
Write-DemoCommand 'Set-RelocationState -Root $WalkRoot -State preflight -Confirm:$false'
Set-RelocationState -Root $WalkRoot -State preflight -Confirm:$false | Format-List Outcome, Summary, Changes | Out-Host

Write-DemoStep 'An illegal step names the allowed next state'
Write-DemoCommand 'Set-RelocationState -Root $WalkRoot -State complete'
try {
    Set-RelocationState -Root $WalkRoot -State complete | Out-Null
    throw 'Expected RelocationStateTransitionNotAllowed.'
} catch {
    if ($_.FullyQualifiedErrorId -notlike 'RelocationStateTransitionNotAllowed,*') { throw }
    Write-Host $_.ErrorDetails.Message
}

$noHosts = Test-TestPreflightAvailable
$hosts = $null
if (-not $noHosts) {
    try { $hosts = Start-TestPreflightHosts -Prefix walk } catch { $noHosts = "$_" }
}
if ($noHosts) {
    Write-DemoStep "The walk to cutover needs a real preflight against local hosts, which cannot run here: $noHosts"
    Show-Checklist PreCutover 'what is missing before cutover'
    Remove-Item $WalkRoot -Recurse -Force -ErrorAction Ignore
    return
}

try {
    Set-TestPreflightTargets -Root $WalkRoot -Hosts $hosts
    Write-DemoStep "The estate's hosts: $(1 + $hosts.HvMap.Count) local sshd instances and a loopback health responder on port $($hosts.Http.Port)"
    Show-Checklist PreCutover 'before any evidence (only the manifest itself is judged)'

    Write-DemoStep 'Impact + preflight, then parity: the read-only capabilities leave their receipts'
    Write-DemoCommand 'Test-PlacementPolicy; Test-HypervisorIdentity -Live; Get-RelocationImpact; Invoke-RelocationPreflight; Invoke-RelocationParity'
    Test-PlacementPolicy -Root $WalkRoot | Out-Null
    Test-HypervisorIdentity -Root $WalkRoot -Live -Timeout 5 | Out-Null
    $impact = Get-RelocationImpact -Root $WalkRoot | Where-Object { $_ -is [InfraRelocation.Receipts.ImpactReceipt] }
    $pf = Invoke-RelocationPreflight -Root $WalkRoot -Timeout 5 -WarningAction SilentlyContinue | Where-Object { $_ -is [InfraRelocation.Receipts.PreflightReceipt] }
    Invoke-RelocationParity -Root $WalkRoot | Out-Null
    $pf | Format-List Capability, Outcome, Summary, RunId | Out-Host
    if ($pf.Outcome -ne 'Passed') { throw "The loopback preflight did not pass: $($pf.Summary)" }

    Write-DemoStep 'A person confirms the impact review, with the evidence link (a receipt, never a file edit)'
    Write-DemoCommand "Confirm-RelocationChecklistItem -Root `$WalkRoot -Item ImpactReviewed -ConfirmedBy '@cab-chair' -Evidence 'https://tickets.example/CAB-2026-118'"
    Confirm-RelocationChecklistItem -Root $WalkRoot -Item ImpactReviewed -ConfirmedBy '@cab-chair' -Evidence 'https://tickets.example/CAB-2026-118' |
        Format-List Item, ConfirmedBy, Evidence, ReviewedRunId | Out-Host

    Write-DemoStep 'Record a VM target after bootstrap: status and mesh address, written byte-exactly (preview, then apply)'
    Write-DemoCommand 'Set-RelocationVmTarget -Root $WalkRoot -Hostname db-main -Status ready -TailscaleIp 100.64.10.112 -WhatIf'
    Set-RelocationVmTarget -Root $WalkRoot -Hostname db-main -Status ready -TailscaleIp 100.64.10.112 -WhatIf | Out-Null
    Set-RelocationVmTarget -Root $WalkRoot -Hostname db-main -Status ready -TailscaleIp 100.64.10.112 -Confirm:$false |
        Format-List Outcome, Summary, Changes | Out-Host

    Show-Checklist PreCutover 'the evidence so far: all but the VM items of phase 1 (app-core, app-web: no provisioning, bootstrap or readiness run in this ledger) and the approval'

    Write-DemoStep 'Preview the cutover: the guard needs the Pre-Cutover list, and names each item still open with its command (-WhatIf gives the same verdict; nothing is written)'
    $before = (Get-FileHash $manifestPath).Hash
    Write-DemoCommand "Set-RelocationState -Root `$WalkRoot -State cutover -ApprovedBy 'cab-chair' -WhatIf"
    try {
        Set-RelocationState -Root $WalkRoot -State cutover -ApprovedBy 'cab-chair' -WhatIf | Out-Null
        throw 'Expected TransitionBlocked: the VM targets of phase 1 have no provisioning, bootstrap or readiness receipt in this ledger.'
    } catch {
        if ($_.FullyQualifiedErrorId -notlike 'TransitionBlocked,*') { throw }
        Write-Host "$($_.FullyQualifiedErrorId):`n$($_.Exception.Message)"
    }
    if ((Get-FileHash $manifestPath).Hash -ne $before) { throw '-WhatIf changed the manifest.' }
    Write-Host 'Manifest unchanged (SHA-256 compared).'

    Write-DemoStep 'Enter cutover by override, on the record: phase 1''s VMs (app-core, app-web) were built before this ledger began (steps 50 and 60 show those capabilities)'
    Write-DemoCommand "Set-RelocationState -Root `$WalkRoot -State cutover -ApprovedBy 'cab-chair' -Force -Reason '<why>' -Confirm:`$false | Format-List"
    Set-RelocationState -Root $WalkRoot -State cutover -ApprovedBy 'cab-chair' -Force -Confirm:$false -WarningAction SilentlyContinue `
        -Reason 'demo: app-core and app-web were provisioned, bootstrapped and checked before this ledger began (CAB-2026-118)' |
        Format-List Outcome, Summary, OverrideReason, Overrides, RunId | Out-Host
    Show-Checklist PreCutover 'entered: the VM items show Overridden, with the run and the reason'

    Write-DemoStep 'The operator points alertmanager''s stack registry entry and health binding at its new host (mon-core)'
    foreach ($e in @(@{ F = 'ops/governance/STACK_REGISTRY.yaml'; P = '(stack_id: alertmanager\n(?:    .*\n)*?    deploy_target: host:)legacy-docker' },
                     @{ F = 'ops/bindings/services.health.yaml'; P = '(- id: alertmanager\n    host: )legacy-docker' })) {
        $file = Join-Path $WalkRoot $e.F
        [IO.File]::WriteAllText($file, [regex]::Replace([IO.File]::ReadAllText($file), $e.P, '${1}mon-core'))
    }

    Write-DemoStep 'Move phase 1''s services whose SSOT files agree to cutover through the pipeline (the mutation guard passes)'
    Write-DemoCommand '(Get-RelocationManifest -Root $WalkRoot).Services | Where-Object { $_.Phase -eq 1 -and $_.Status -eq ''Shadow'' } | Set-RelocationServiceStatus -Root $WalkRoot -Status cutover'
    (Get-RelocationManifest -Root $WalkRoot).Services | Where-Object { $_.Phase -eq 1 -and $_.Status -eq 'Shadow' } |
        Set-RelocationServiceStatus -Root $WalkRoot -Status cutover -WarningAction SilentlyContinue | Format-Table | Out-Host

    Write-DemoStep 'A later phase: its services need that phase''s VM targets provisioned, bootstrapped and ready, as entering cutover needed phase 1''s'
    Write-DemoCommand 'Set-RelocationServiceStatus -Root $WalkRoot -Service prometheus -Status cutover'
    try { Set-RelocationServiceStatus -Root $WalkRoot -Service prometheus -Status cutover -ErrorAction Stop | Out-Null; throw 'The guard let a phase without VM evidence through.' }
    catch { if ($_.FullyQualifiedErrorId -notlike 'TransitionBlocked,*') { throw }; Write-Host $_.Exception.Message }
    Write-DemoCommand '(Get-RelocationManifest -Root $WalkRoot).Services | Where-Object { $_.Phase -gt 1 -and ($_.Status -eq ''Shadow'' -or $_.Service -in ''ci-agent'', ''alertmanager'') } | Set-RelocationServiceStatus -Root $WalkRoot -Status cutover -Force -Reason ''<why>'''
    (Get-RelocationManifest -Root $WalkRoot).Services | Where-Object { $_.Phase -gt 1 -and ($_.Status -eq 'Shadow' -or $_.Service -in 'ci-agent', 'alertmanager') } |
        Set-RelocationServiceStatus -Root $WalkRoot -Status cutover -Force -Reason 'demo: the later phases'' VMs were built before this ledger began (CAB-2026-118)' -WarningAction SilentlyContinue |
        Format-Table Subject, Outcome, OverrideReason | Out-Host

    Write-DemoStep 'A planned service whose SSOT files still name the old host: the guard judges the estate after the move and refuses'
    Write-DemoCommand 'Set-RelocationServiceStatus -Root $WalkRoot -Service loki -Status cutover'
    try { Set-RelocationServiceStatus -Root $WalkRoot -Service loki -Status cutover -ErrorAction Stop | Out-Null; throw 'The guard let D35 red through.' }
    catch { if ($_.FullyQualifiedErrorId -notlike 'TransitionBlocked,*') { throw }; Write-Host $_.Exception.Message }

    Write-DemoStep 'The planned services: cutover forced with a reason (recorded), then rolled back (a change that only removes errors)'
    Write-DemoCommand '$planned | Set-RelocationServiceStatus -Root $WalkRoot -Status cutover -Force -Reason ''demo: their SSOT files move in a later change'''
    $planned = (Get-RelocationManifest -Root $WalkRoot).Services | Where-Object { $_.Status -eq 'Planned' -and $_.RollbackTo }
    # Collected first: Select-Object -First 1 on the live pipeline would stop it after the first service.
    $forced = @($planned | Set-RelocationServiceStatus -Root $WalkRoot -Status cutover -Force -Reason 'demo: their SSOT files move in a later change' -WarningAction SilentlyContinue)
    $forced | Select-Object -First 1 | Format-List Subject, Outcome, OverrideReason, Overrides | Out-Host
    Write-Host "$($forced.Count) services forced to cutover."
    Write-DemoCommand '$planned | Set-RelocationServiceStatus -Root $WalkRoot -Status rolled-back'
    $planned | Set-RelocationServiceStatus -Root $WalkRoot -Status rolled-back -WarningAction SilentlyContinue | Measure-Object | ForEach-Object { Write-Host "$($_.Count) services rolled back." }

    Show-Checklist PostCutover 'services in cutover, nothing verified after cutover yet'

    Write-DemoStep 'Health-gated promotion of every service in cutover with a health_url: consecutive healthy probes, then parity on the written files'
    Write-DemoCommand '(Get-RelocationManifest -Root $WalkRoot).Services | Where-Object { $_.Status -eq ''Cutover'' -and $_.HealthUrl } | Invoke-RelocationPromotion -Root $WalkRoot -Probes 2 -IntervalSeconds 0.1 -WindowSeconds 10'
    $promoted = @((Get-RelocationManifest -Root $WalkRoot).Services | Where-Object { $_.Status -eq 'Cutover' -and $_.HealthUrl } |
        Invoke-RelocationPromotion -Root $WalkRoot -Probes 2 -IntervalSeconds 0.1 -WindowSeconds 10 -WarningAction SilentlyContinue)
    $promoted | Format-Table Subject, Outcome, Probes, ParityPassed | Out-Host
    if ($promoted.Outcome | Where-Object { $_ -ne 'Succeeded' }) { throw 'A promotion did not succeed.' }

    Write-DemoStep 'ci-agent has no HTTP endpoint: migrated without probes, by override with a reason (the checklist shows Overridden)'
    Write-DemoCommand "Set-RelocationServiceStatus -Root `$WalkRoot -Service ci-agent -Status migrated -Force -Reason 'no HTTP endpoint: runner registration checked by hand'"
    Set-RelocationServiceStatus -Root $WalkRoot -Service ci-agent -Status migrated -Force -Reason 'no HTTP endpoint: runner registration checked by hand' -WarningAction SilentlyContinue |
        Format-List Subject, Outcome, OverrideReason | Out-Host

    Write-DemoStep 'Post-change verification: impact (nothing pending), identity, parity, the final gate'
    Write-DemoCommand 'Get-RelocationImpact; Test-HypervisorIdentity -Live; Invoke-RelocationParity; Invoke-RelocationGate'
    Get-RelocationImpact -Root $WalkRoot | Out-Null
    Test-HypervisorIdentity -Root $WalkRoot -Live -Timeout 5 | Out-Null
    Invoke-RelocationParity -Root $WalkRoot | Out-Null
    Invoke-RelocationGate -Root $WalkRoot | Where-Object { $_ -is [InfraRelocation.Receipts.GateReceipt] } | Format-List Capability, Outcome, Summary | Out-Host
    Show-Checklist PostCutover 'after the promotions and the post-change checks'

    Write-DemoStep 'Cleanup, on the Post-Cutover list (no override); every service complete'
    Write-DemoCommand 'Set-RelocationState -Root $WalkRoot -State cleanup -Confirm:$false'
    Set-RelocationState -Root $WalkRoot -State cleanup -Confirm:$false | Format-List Outcome, Summary, OverrideReason | Out-Host
    Write-DemoCommand '(Get-RelocationManifest -Root $WalkRoot).Services | Where-Object Status -NE RolledBack | Set-RelocationServiceStatus -Root $WalkRoot -Status complete'
    (Get-RelocationManifest -Root $WalkRoot).Services | Where-Object Status -NE RolledBack |
        Set-RelocationServiceStatus -Root $WalkRoot -Status complete -WarningAction SilentlyContinue | Out-Null

    Write-DemoStep 'Complete waits for the Post-Cleanup list: a person confirms the old resources decommissioned and the open loop closed'
    Write-DemoCommand 'Set-RelocationState -Root $WalkRoot -State complete -Confirm:$false'
    try {
        Set-RelocationState -Root $WalkRoot -State complete -Confirm:$false | Out-Null
        throw 'Expected TransitionBlocked: nobody confirmed the Post-Cleanup items yet.'
    } catch {
        if ($_.FullyQualifiedErrorId -notlike 'TransitionBlocked,*') { throw }
        Write-Host "$($_.FullyQualifiedErrorId):`n$($_.Exception.Message)"
    }
    Write-DemoCommand "Confirm-RelocationChecklistItem -Root `$WalkRoot -Item OldResourcesDecommissioned -ConfirmedBy '@mkoenig' -Evidence 'https://tickets.example/OL-2026-118#legacy-docker-off'"
    Confirm-RelocationChecklistItem -Root $WalkRoot -Item OldResourcesDecommissioned -ConfirmedBy '@mkoenig' -Evidence 'https://tickets.example/OL-2026-118#legacy-docker-off' | Out-Null
    Write-DemoCommand "Confirm-RelocationChecklistItem -Root `$WalkRoot -Item OpenLoopClosed -ConfirmedBy '@mkoenig' -Evidence 'https://tickets.example/OL-2026-118 (closed)'"
    Confirm-RelocationChecklistItem -Root $WalkRoot -Item OpenLoopClosed -ConfirmedBy '@mkoenig' -Evidence 'https://tickets.example/OL-2026-118 (closed)' | Out-Null
    Show-Checklist PostCleanup 'both confirmed; the state complete is the transition''s own'
    Write-DemoCommand 'Set-RelocationState -Root $WalkRoot -State complete -Confirm:$false'
    Set-RelocationState -Root $WalkRoot -State complete -Confirm:$false | Format-List Outcome, Summary, OverrideReason | Out-Host
    Show-Checklist PostCleanup 'complete'

    Write-DemoStep 'Archive the complete relocation with its evidence (active_relocation: null), then start the next one'
    Write-DemoCommand 'Close-Relocation -Root $WalkRoot -Confirm:$false | Format-List Outcome, Summary, Diff'
    Close-Relocation -Root $WalkRoot -Confirm:$false | Format-List Outcome, Summary, Diff | Out-Host
    Write-DemoCommand "Start-Relocation -Root `$WalkRoot -ChangeId 'CHG-2027-0001-NEXT' -Owner '@mkoenig' | Format-Table"
    Start-Relocation -Root $WalkRoot -ChangeId 'CHG-2027-0001-NEXT' -Owner '@mkoenig' | Format-Table | Out-Host
    Write-DemoCommand 'Get-RelocationChecklist -Root $WalkRoot | Where-Object IsDone   # the new relocation inherits no evidence'
    @(Get-RelocationChecklist -Root $WalkRoot | Where-Object { $_ -is [InfraRelocation.Gates.ChecklistItem] -and $_.IsDone }) |
        Format-Table State, Title, Evidence -Wrap | Out-Host

    Write-DemoStep 'The ledger is the history: every run, chained'
    Write-DemoCommand 'Test-RelocationReceiptChain -Root $WalkRoot'
    Test-RelocationReceiptChain -Root $WalkRoot | Format-List IsValid, ReceiptCount | Out-Host
    $counts = Get-Content $ledgerPath | ForEach-Object { ($_ | ConvertFrom-Json).receipt } | Group-Object Capability, Outcome -NoElement
    $counts | Sort-Object Name | Format-Table Count, Name | Out-Host
} finally {
    Stop-TestPreflightHosts $hosts
    Remove-Item $WalkRoot, "$WalkRoot-backups" -Recurse -Force -ErrorAction Ignore
}
