# Demo step: the sample estate's relocation from its start (Start-Relocation) to archived, through the capabilities,
# with the protocol's checklists turning green item by item (Get-RelocationChecklist) and each state guard waiting
# for its list. Runs inside tools/Invoke-Demo.ps1 on a throw-away copy ($WalkRoot) of the demo estate, so the demo
# estate itself stays as it is.
#
# No stand-in evidence: the estate's hosts are local OpenSSH servers on 127.0.0.1 (hypervisors with their pinned
# machine ids, in private namespaces when running as root) and a loopback HTTP responder behind every health_url
# (tests/Pester/PreflightFixture.ps1); the VM targets are provisioned by New-ProxmoxVm on the Proxmox API emulator
# (tests/Pester/ProxmoxFixture.ps1), then bootstrapped and checked over SSH on a real Debian 12 machine
# (tests/Pester/MachineFixture.ps1), or on the loopback sshd where machines cannot boot; every receipt comes from
# running the capability. Where sshd cannot run here the walk is not shown (the cutover guard needs a real preflight
# receipt) and the reason is printed; where the emulator is not built, cutover is entered by an override that says why.

. (Join-Path $RepoRoot 'tests/Pester/PreflightFixture.ps1')
. (Join-Path $RepoRoot 'tests/Pester/ProxmoxFixture.ps1')
. (Join-Path $RepoRoot 'tests/Pester/MachineFixture.ps1')

$WalkRoot = Join-Path ([IO.Path]::GetTempPath()) "infra-relocation-walk-$([guid]::NewGuid().ToString('n').Substring(0, 8))"
New-Item -ItemType Directory $WalkRoot | Out-Null
# The sample estate as the repository has it (step 50 provisioned the demo estate's VMs on an emulator that has stopped).
Copy-Item (Join-Path $RepoRoot 'ops') (Join-Path $WalkRoot 'ops') -Recurse
$ledgerPath = Join-Path $WalkRoot 'receipts' 'ledger.jsonl'

function Show-Checklist([string] $Phase, [string] $Why) {
    Write-DemoStep "Checklist ${Phase}: $Why"
    Write-DemoCommand "Get-RelocationChecklist -Root `$WalkRoot -Phase $Phase"
    $items = @(Get-RelocationChecklist -Root $WalkRoot -Phase $Phase | Where-Object { $_ -is [InfraRelocation.Gates.ChecklistItem] })
    $items | Format-Table State, Title, @{ Label = 'Evidence / next command'; Expression = { if ($_.Command) { "$($_.Evidence) Next: $($_.Command)" } else { $_.Evidence } } } -Wrap -Force | Out-Host
    Write-Host "$(@($items | Where-Object IsDone).Count) of $($items.Count) done."
}

Write-DemoStep 'Transitions: a private copy of the sample estate, as it was before its relocation started'
Write-DemoCommand '$WalkRoot = <temp folder>; Copy-Item <the sample estate>/ops $WalkRoot/ops -Recurse'
Write-Host $WalkRoot
# The plan (services, VM targets, phases) is prepared in the manifest; nothing is in flight yet.
$manifestPath = Join-Path $WalkRoot 'ops' 'bindings' 'infra.relocation.plan.yaml'
[IO.File]::WriteAllText($manifestPath, [regex]::Replace([IO.File]::ReadAllText($manifestPath), '(?ms)^active_relocation:\r?\n.*?(?=^completed_relocations:)', "active_relocation: null`n`n"))
Write-Host 'active_relocation: null (the services and VM targets are planned; no relocation is in flight)'

Write-DemoStep 'Start the relocation: a command with a receipt, never a free edit'
Write-DemoCommand "Start-Relocation -Root `$WalkRoot -ChangeId 'CHG-2026-1118-SPLIT-LEGACY' -Owner '@mkoenig' -Confirm:`$false | Format-List Outcome, Summary, Diff -Force"
Start-Relocation -Root $WalkRoot -ChangeId 'CHG-2026-1118-SPLIT-LEGACY' -Owner '@mkoenig' -Confirm:$false | Format-List Outcome, Summary, Diff -Force | Out-Host

Write-DemoStep 'Leave planning: the mutation guard judges the estate as preflight will apply D35 and D37'
Write-DemoCommand 'Set-RelocationState -Root $WalkRoot -State preflight -Confirm:$false'
Set-RelocationState -Root $WalkRoot -State preflight -Confirm:$false | Format-List Outcome, Summary, Changes -Force | Out-Host

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

$pve = $null
$machines = $null
try {
    Set-TestPreflightTargets -Root $WalkRoot -Hosts $hosts
    # The VM targets the plan's services move to, in the manifest's order.
    $plan = Get-RelocationManifest -Root $WalkRoot
    $vms = @($plan.VmTargets | Where-Object { $_.Hostname -in $plan.Services.ToHost } | ForEach-Object Hostname)
    $noVms = if (-not (Get-TestProxmoxEmulatorPath)) { 'the Proxmox emulator is not built (dotnet pwsh ./build.ps1 demo builds it)' }
    if (-not $noVms) {
        $pve = Start-TestProxmoxEmulator -TaskMs 100
        $env:INFRA_RELOCATION_PVE_POLL_MS = '50'
        Initialize-TestProxmoxEstate -Root $WalkRoot -Emulator $pve
        # The VMs' SSH side: a real Debian 12 machine (systemd-nspawn) answers for every VM target; where the kernel
        # does not allow one, the loopback sshd does.
        $vmHost = $hosts.Vm
        $noMachine = Test-TestMachineAvailable
        if (-not $noMachine) {
            try { $machines = New-TestMachineSet; $vmHost = ConvertTo-TestSshServer $machines.Start('vm-host') -UserKeyPath $machines.UserKeyPath } catch { $noMachine = "$_" }
        }
        # Only the VM targets' bindings move to it (with its key); the other hosts and the backup checks stay on the loopback sshd.
        $map = @{} + $hosts.HvMap
        $keys = @{}
        foreach ($vm in $vms) { $map[$vm] = $vmHost; $keys[$vm] = @{ identity_file = $vmHost.UserKeyPath } }
        Set-TestSshTargets -Root $WalkRoot -Default $hosts.Vm -Map $map -Override $keys
        # The bootstrap the demo runs on that host (the plan's profiles install docker and join the tailnet, which
        # this machine cannot): marker files under /var/lib/infra-relocation-demo; readiness checks what can be
        # checked here (VM running and guest agent on the emulator, SSH binding and reachability, backup binding).
        $marker = '/var/lib/infra-relocation-demo'
        Add-TestStepProfile -Root $WalkRoot -Name demo-vm-v1 -Description 'demo: marker-file bootstrap on the machine that answers for the VMs' -Steps @(
            @{ name = 'base'; check = "test -f $marker/base"; run = "mkdir -p $marker && touch $marker/base" }
            @{ name = 'stack'; check = "test -f $marker/stack"; run = "touch $marker/stack" }) -ReadinessLines @(
            'require_running: true', 'require_ssh_target_binding: true', 'require_ssh_reachability: true', 'require_tailscale_connected: false',
            'require_qemu_agent_running: true', 'require_cron_running: false', 'require_backup_binding: true')
    }
    Write-DemoStep "The estate's hosts: $(1 + $hosts.HvMap.Count) local sshd instances and a loopback health responder on port $($hosts.Http.Port)$(if ($pve) { "; the Proxmox API emulator at $($pve.Url)" })"
    if ($pve) {
        Write-Host $(if ($noMachine) { "The VM targets' SSH side is the loopback sshd (no Debian machine here: $noMachine)." }
                     else { "The VM targets' SSH side is a Debian 12 machine (systemd-nspawn) on 127.0.0.1:$($vmHost.Port); it answers for all $($vms.Count) VM targets." })
    }
    Show-Checklist PreCutover 'before any evidence (only the manifest itself is judged)'

    if ($pve) {
        Write-DemoStep "Provision, bootstrap and check the $($vms.Count) VM targets the services move to (the VM items of every phase)"
        Write-DemoCommand '$vms | New-ProxmoxVm -Root $WalkRoot -ThrottleLimit 4 -Confirm:$false'
        $made = @($vms | New-ProxmoxVm -Root $WalkRoot -ThrottleLimit 4 -Confirm:$false | Where-Object { $_ -is [InfraRelocation.Receipts.ProvisionReceipt] })
        $made | Format-Table Target, Outcome, VmId, Node, Address -AutoSize -Force | Out-Host
        if ($made.Count -ne $vms.Count -or ($made.Outcome | Where-Object { $_ -ne 'Succeeded' })) { throw "Provisioning failed: $(@($made | Where-Object Outcome -ne 'Succeeded' | ForEach-Object Summary) -join '; ')" }
        Write-DemoCommand '$vms | Initialize-RelocationVm -Root $WalkRoot -Profile demo-vm-v1 -ThrottleLimit 4 -Confirm:$false'
        $booted = $vms | Initialize-RelocationVm -Root $WalkRoot -Profile demo-vm-v1 -ThrottleLimit 4 -Confirm:$false | Where-Object { $_ -is [InfraRelocation.Receipts.BootstrapReceipt] }
        $booted | Format-Table Hostname, Outcome, Summary -Wrap -Force | Out-Host
        if ($booted.Outcome | Where-Object { $_ -notin 'Succeeded', 'Unchanged' }) { throw 'A bootstrap failed.' }
        Show-Checklist PreCutover 'provisioned and bootstrapped: readiness is still missing'
        Write-DemoCommand '$vms | Get-VmReadiness -Root $WalkRoot -Profile demo-vm-v1 -ThrottleLimit 4'
        $ready = $vms | Get-VmReadiness -Root $WalkRoot -Profile demo-vm-v1 -ThrottleLimit 4 | Where-Object { $_ -is [InfraRelocation.Receipts.ReadinessReceipt] }
        $ready | Format-Table Hostname, Outcome, Summary -Wrap -Force | Out-Host
        if ($ready.Outcome | Where-Object { $_ -ne 'Passed' }) { throw 'A readiness check failed.' }

        Write-DemoStep 'Record each VM target ready: status (and for db-main its mesh address), written byte-exactly (preview, then apply)'
        Write-DemoCommand 'Set-RelocationVmTarget -Root $WalkRoot -Hostname db-main -Status ready -TailscaleIp 100.64.10.112 -WhatIf'
        Set-RelocationVmTarget -Root $WalkRoot -Hostname db-main -Status ready -TailscaleIp 100.64.10.112 -WhatIf | Out-Null
        Set-RelocationVmTarget -Root $WalkRoot -Hostname db-main -Status ready -TailscaleIp 100.64.10.112 -Confirm:$false |
            Format-List Outcome, Summary, Changes -Force | Out-Host
        Write-DemoCommand '$vms | Where-Object { $_ -ne ''db-main'' } | ForEach-Object { Set-RelocationVmTarget -Root $WalkRoot -Hostname $_ -Status ready -Confirm:$false }'
        $vms | Where-Object { $_ -ne 'db-main' } | ForEach-Object { Set-RelocationVmTarget -Root $WalkRoot -Hostname $_ -Status ready -Confirm:$false } | Out-Null
    } else {
        Write-DemoStep "No VM work in this walk: $noVms"
    }

    Write-DemoStep 'Impact + preflight, then parity: the read-only capabilities leave their receipts (after the VM work, which wrote the manifest)'
    Write-DemoCommand 'Test-PlacementPolicy; Test-HypervisorIdentity -Live; Get-RelocationImpact; Invoke-RelocationPreflight; Invoke-RelocationParity'
    Test-PlacementPolicy -Root $WalkRoot | Out-Null
    Test-HypervisorIdentity -Root $WalkRoot -Live -Timeout 20 | Out-Null
    $impact = Get-RelocationImpact -Root $WalkRoot | Where-Object { $_ -is [InfraRelocation.Receipts.ImpactReceipt] }
    $pf = Invoke-RelocationPreflight -Root $WalkRoot -Timeout 20 -WarningAction SilentlyContinue | Where-Object { $_ -is [InfraRelocation.Receipts.PreflightReceipt] }
    Invoke-RelocationParity -Root $WalkRoot | Out-Null
    $pf | Format-List Capability, Outcome, Summary, RunId -Force | Out-Host
    $pf.Findings | Where-Object Severity -EQ 'Error' | Format-Table RuleId, Subject, Message -Wrap -Force | Out-Host
    if ($pf.Outcome -ne 'Passed') { throw "The loopback preflight did not pass: $($pf.Summary)" }

    Write-DemoStep 'A person confirms the impact review, with the evidence link (a receipt, never a file edit)'
    Write-DemoCommand "Confirm-RelocationChecklistItem -Root `$WalkRoot -Item ImpactReviewed -ConfirmedBy '@cab-chair' -Evidence 'https://tickets.example/CAB-2026-118'"
    Confirm-RelocationChecklistItem -Root $WalkRoot -Item ImpactReviewed -ConfirmedBy '@cab-chair' -Evidence 'https://tickets.example/CAB-2026-118' |
        Format-List Item, ConfirmedBy, Evidence, ReviewedRunId -Force | Out-Host

    Show-Checklist PreCutover 'the evidence so far: everything but the approval, which the cutover transition records'

    if ($pve) {
        $open = @(Get-RelocationChecklist -Root $WalkRoot -Phase PreCutover | Where-Object { $_ -is [InfraRelocation.Gates.ChecklistItem] -and -not $_.IsDone -and $_.Id -ne 'PRE.Approval' })
        if ($open) { throw "Pre-Cutover items still open before cutover: $(@($open | ForEach-Object { "$($_.Id) $($_.State): $($_.Evidence)" }) -join '; ')" }
        Write-DemoStep 'Enter cutover on the complete Pre-Cutover list: no override (preview first; -WhatIf writes nothing)'
        $before = (Get-FileHash $manifestPath).Hash
        Write-DemoCommand "Set-RelocationState -Root `$WalkRoot -State cutover -ApprovedBy 'cab-chair' -WhatIf"
        Set-RelocationState -Root $WalkRoot -State cutover -ApprovedBy 'cab-chair' -WhatIf | Out-Null
        if ((Get-FileHash $manifestPath).Hash -ne $before) { throw '-WhatIf changed the manifest.' }
        Write-Host 'Manifest unchanged by the preview (SHA-256 compared).'
        Write-DemoCommand "Set-RelocationState -Root `$WalkRoot -State cutover -ApprovedBy 'cab-chair' -Confirm:`$false | Format-List"
        $entered = Set-RelocationState -Root $WalkRoot -State cutover -ApprovedBy 'cab-chair' -Confirm:$false
        $entered | Format-List Outcome, Summary, OverrideReason, RunId -Force | Out-Host
        if ($entered.OverrideReason) { throw 'Cutover was entered by override.' }
        Show-Checklist PreCutover 'entered: every item Done, the approval recorded by the transition'
    } else {
        Write-DemoStep 'Preview the cutover: the guard needs the Pre-Cutover list, and names each item still open with its command (-WhatIf gives the same verdict; nothing is written)'
        $before = (Get-FileHash $manifestPath).Hash
        Write-DemoCommand "Set-RelocationState -Root `$WalkRoot -State cutover -ApprovedBy 'cab-chair' -WhatIf"
        try {
            Set-RelocationState -Root $WalkRoot -State cutover -ApprovedBy 'cab-chair' -WhatIf | Out-Null
            throw 'Expected TransitionBlocked: the VM targets have no provisioning, bootstrap or readiness receipt in this ledger.'
        } catch {
            if ($_.FullyQualifiedErrorId -notlike 'TransitionBlocked,*') { throw }
            Write-Host "$($_.FullyQualifiedErrorId):`n$($_.Exception.Message)"
        }
        if ((Get-FileHash $manifestPath).Hash -ne $before) { throw '-WhatIf changed the manifest.' }
        Write-Host 'Manifest unchanged (SHA-256 compared).'
        Write-DemoStep "Enter cutover by override, on the record, because the VM items cannot be completed here: $noVms"
        Write-DemoCommand "Set-RelocationState -Root `$WalkRoot -State cutover -ApprovedBy 'cab-chair' -Force -Reason '<why>' -Confirm:`$false | Format-List"
        Set-RelocationState -Root $WalkRoot -State cutover -ApprovedBy 'cab-chair' -Force -Confirm:$false -WarningAction SilentlyContinue `
            -Reason "demo: no VM evidence can be made here ($noVms)" |
            Format-List Outcome, Summary, OverrideReason, Overrides, RunId -Force | Out-Host
        Show-Checklist PreCutover 'entered: the VM items show Overridden, with the run and the reason'
    }

    Write-DemoStep 'The operator points alertmanager''s stack registry entry and health binding at its new host (mon-core)'
    foreach ($e in @(@{ F = 'ops/governance/STACK_REGISTRY.yaml'; P = '(stack_id: alertmanager\n(?:    .*\n)*?    deploy_target: host:)legacy-docker' },
                     @{ F = 'ops/bindings/services.health.yaml'; P = '(- id: alertmanager\n    host: )legacy-docker' })) {
        $file = Join-Path $WalkRoot $e.F
        [IO.File]::WriteAllText($file, [regex]::Replace([IO.File]::ReadAllText($file), $e.P, '${1}mon-core'))
    }
    if ($pve) {
        # Evidence counts only for the files as they are now: readiness read the health bindings, so it runs again.
        Write-DemoCommand "Get-RelocationChecklist -Root `$WalkRoot -Phase PreCutover | Where-Object Id -EQ PRE.VmReady   # the edit made the readiness runs stale"
        Get-RelocationChecklist -Root $WalkRoot -Phase PreCutover | Where-Object { $_ -is [InfraRelocation.Gates.ChecklistItem] -and $_.Id -eq 'PRE.VmReady' } |
            Format-List State, Evidence -Force | Out-Host
        Write-DemoCommand '$vms | Get-VmReadiness -Root $WalkRoot -Profile demo-vm-v1 -ThrottleLimit 4'
        $again = $vms | Get-VmReadiness -Root $WalkRoot -Profile demo-vm-v1 -ThrottleLimit 4 | Where-Object { $_ -is [InfraRelocation.Receipts.ReadinessReceipt] }
        if ($again.Outcome | Where-Object { $_ -ne 'Passed' }) { throw 'A readiness check failed.' }
        Write-Host "$(@($again).Count) readiness runs passed again."
    }

    Write-DemoStep 'Move the services whose SSOT files agree to cutover, phase by phase: each move needs its phase''s VM items (Done above)'
    $noVmsReason = "demo: no VM evidence can be made here ($noVms)"
    $moving = @((Get-RelocationManifest -Root $WalkRoot).Services | Where-Object { $_.Status -eq 'Shadow' -or $_.Service -in 'ci-agent', 'alertmanager' })
    Write-DemoCommand '(Get-RelocationManifest -Root $WalkRoot).Services | Where-Object { $_.Status -eq ''Shadow'' -or $_.Service -in ''ci-agent'', ''alertmanager'' } | Set-RelocationServiceStatus -Root $WalkRoot -Status cutover'
    $moved = if ($pve) { @($moving | Set-RelocationServiceStatus -Root $WalkRoot -Status cutover -WarningAction SilentlyContinue) }
             else { @($moving | Set-RelocationServiceStatus -Root $WalkRoot -Status cutover -Force -Reason $noVmsReason -WarningAction SilentlyContinue) }
    $moved | Format-Table Subject, Outcome, OverrideReason -Force | Out-Host
    if ($pve -and ($moved.OverrideReason | Where-Object { $_ })) { throw 'A service move needed an override.' }

    Write-DemoStep 'A planned service whose SSOT files still name the old host: the guard judges the estate after the move and refuses'
    Write-DemoCommand 'Set-RelocationServiceStatus -Root $WalkRoot -Service loki -Status cutover'
    try { Set-RelocationServiceStatus -Root $WalkRoot -Service loki -Status cutover -ErrorAction Stop | Out-Null; throw 'The guard let D35 red through.' }
    catch { if ($_.FullyQualifiedErrorId -notlike 'TransitionBlocked,*') { throw }; Write-Host $_.Exception.Message }

    Write-DemoStep 'The planned services: cutover forced with a reason (recorded), then rolled back (a change that only removes errors)'
    Write-DemoCommand '$planned | Set-RelocationServiceStatus -Root $WalkRoot -Status cutover -Force -Reason ''demo: their SSOT files move in a later change'''
    $planned = (Get-RelocationManifest -Root $WalkRoot).Services | Where-Object { $_.Status -eq 'Planned' -and $_.RollbackTo }
    # Collected first: Select-Object -First 1 on the live pipeline would stop it after the first service.
    $forced = @($planned | Set-RelocationServiceStatus -Root $WalkRoot -Status cutover -Force -Reason 'demo: their SSOT files move in a later change' -WarningAction SilentlyContinue)
    $forced | Select-Object -First 1 | Format-List Subject, Outcome, OverrideReason, Overrides -Force | Out-Host
    Write-Host "$($forced.Count) services forced to cutover."
    Write-DemoCommand '$planned | Set-RelocationServiceStatus -Root $WalkRoot -Status rolled-back'
    $planned | Set-RelocationServiceStatus -Root $WalkRoot -Status rolled-back -WarningAction SilentlyContinue | Measure-Object | ForEach-Object { Write-Host "$($_.Count) services rolled back." }

    Show-Checklist PostCutover 'services in cutover, nothing verified after cutover yet'

    Write-DemoStep 'Health-gated promotion of every service in cutover with a health_url: consecutive healthy probes, then parity on the written files'
    Write-DemoCommand '(Get-RelocationManifest -Root $WalkRoot).Services | Where-Object { $_.Status -eq ''Cutover'' -and $_.HealthUrl } | Invoke-RelocationPromotion -Root $WalkRoot -Probes 2 -IntervalSeconds 0.1 -WindowSeconds 10'
    $promoted = @((Get-RelocationManifest -Root $WalkRoot).Services | Where-Object { $_.Status -eq 'Cutover' -and $_.HealthUrl } |
        Invoke-RelocationPromotion -Root $WalkRoot -Probes 2 -IntervalSeconds 0.1 -WindowSeconds 10 -WarningAction SilentlyContinue)
    $promoted | Format-Table Subject, Outcome, Probes, ParityPassed -Force | Out-Host
    if ($promoted.Outcome | Where-Object { $_ -ne 'Succeeded' }) { throw 'A promotion did not succeed.' }

    Write-DemoStep 'ci-agent has no HTTP endpoint: migrated without probes, by override with a reason (the checklist shows Overridden)'
    Write-DemoCommand "Set-RelocationServiceStatus -Root `$WalkRoot -Service ci-agent -Status migrated -Force -Reason 'no HTTP endpoint: runner registration checked by hand'"
    Set-RelocationServiceStatus -Root $WalkRoot -Service ci-agent -Status migrated -Force -Reason 'no HTTP endpoint: runner registration checked by hand' -WarningAction SilentlyContinue |
        Format-List Subject, Outcome, OverrideReason -Force | Out-Host

    Write-DemoStep 'Post-change verification: impact (nothing pending), identity, parity, the final gate'
    Write-DemoCommand 'Get-RelocationImpact; Test-HypervisorIdentity -Live; Invoke-RelocationParity; Invoke-RelocationGate'
    Get-RelocationImpact -Root $WalkRoot | Out-Null
    Test-HypervisorIdentity -Root $WalkRoot -Live -Timeout 20 | Out-Null
    Invoke-RelocationParity -Root $WalkRoot | Out-Null
    Invoke-RelocationGate -Root $WalkRoot | Where-Object { $_ -is [InfraRelocation.Receipts.GateReceipt] } | Format-List Capability, Outcome, Summary -Force | Out-Host
    Show-Checklist PostCutover 'after the promotions and the post-change checks'

    Write-DemoStep 'Cleanup, on the Post-Cutover list (no override); every service complete'
    Write-DemoCommand 'Set-RelocationState -Root $WalkRoot -State cleanup -Confirm:$false'
    Set-RelocationState -Root $WalkRoot -State cleanup -Confirm:$false | Format-List Outcome, Summary, OverrideReason -Force | Out-Host
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
    Set-RelocationState -Root $WalkRoot -State complete -Confirm:$false | Format-List Outcome, Summary, OverrideReason -Force | Out-Host
    Show-Checklist PostCleanup 'complete'

    Write-DemoStep 'Archive the complete relocation with its evidence (active_relocation: null), then start the next one'
    Write-DemoCommand 'Close-Relocation -Root $WalkRoot -Confirm:$false | Format-List Outcome, Summary, Diff -Force'
    Close-Relocation -Root $WalkRoot -Confirm:$false | Format-List Outcome, Summary, Diff -Force | Out-Host
    Write-DemoCommand "Start-Relocation -Root `$WalkRoot -ChangeId 'CHG-2027-0001-NEXT' -Owner '@mkoenig' | Format-Table"
    Start-Relocation -Root $WalkRoot -ChangeId 'CHG-2027-0001-NEXT' -Owner '@mkoenig' | Format-Table | Out-Host
    Write-DemoCommand 'Get-RelocationChecklist -Root $WalkRoot | Where-Object IsDone   # the new relocation inherits no evidence'
    @(Get-RelocationChecklist -Root $WalkRoot | Where-Object { $_ -is [InfraRelocation.Gates.ChecklistItem] -and $_.IsDone }) |
        Format-Table State, Title, Evidence -Wrap -Force | Out-Host

    Write-DemoStep 'The ledger is the history: every run, chained'
    Write-DemoCommand 'Test-RelocationReceiptChain -Root $WalkRoot'
    Test-RelocationReceiptChain -Root $WalkRoot | Format-List IsValid, ReceiptCount -Force | Out-Host
    $counts = Get-Content $ledgerPath | ForEach-Object { ($_ | ConvertFrom-Json).receipt } | Group-Object Capability, Outcome -NoElement
    $counts | Sort-Object Name | Format-Table Count, Name -Force | Out-Host
} finally {
    Stop-TestPreflightHosts $hosts
    if ($pve) { Stop-TestProxmoxEmulator $pve }
    if ($machines) { $machines.Dispose() }
    Remove-Item env:INFRA_RELOCATION_PVE_TOKEN, env:INFRA_RELOCATION_PVE_POLL_MS -ErrorAction Ignore
    Remove-Item $WalkRoot, "$WalkRoot-backups" -Recurse -Force -ErrorAction Ignore
}
