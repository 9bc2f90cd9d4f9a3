# One relocation as an admin's runbook chains it, in the protocol's required sequence (impact + preflight, parity,
# provision, bootstrap + readiness, state transition, cutover/cleanup, final verification), on a copy of the sample
# estate wired to real services on loopback:
#   - OpenSSH servers (SshFixture.ps1): one for every VM, one per hypervisor with its pinned machine id (private
#     UTS/mount namespaces, so the identity probes read the pinned ids);
#   - the Proxmox API emulator as a process (ProxmoxFixture.ps1), reached through the estate config's proxmox:
#     section, token secret from the environment variable the config names;
#   - an HTTP health responder (HttpFixture.ps1) behind every health_url.
# No stand-in evidence: the cutover guard is satisfied by the receipt Invoke-RelocationPreflight writes.
# Skipped, with the reason, only when the fixtures cannot run here (no sshd, no namespaces for the pinned machine
# ids, emulator not built).

BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'common.ps1')
    . (Join-Path $PSScriptRoot 'SshFixture.ps1')
    . (Join-Path $PSScriptRoot 'ProxmoxFixture.ps1')
    $script:skipReason = Test-TestSshServerAvailable
    if (-not $skipReason) {
        try { $probe = Start-TestSshServer -Name rb-probe; Stop-TestSshServer $probe } catch { $script:skipReason = "$_" }
    }
    if (-not $skipReason -and -not (Test-TestSshIsolation)) {
        $script:skipReason = 'sshd runs without private UTS/mount namespaces (needs root and unshare), so the hypervisors cannot report their pinned machine ids.'
    }
    if (-not $skipReason -and -not (Get-TestProxmoxEmulatorPath)) {
        $script:skipReason = 'the Proxmox emulator is not built (dotnet pwsh ./build.ps1 test builds it into output/emulator/).'
    }
    if ($skipReason) { Write-Warning "Runbook scenario skipped: $skipReason" }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    . (Join-Path $PSScriptRoot 'SshFixture.ps1')
    . (Join-Path $PSScriptRoot 'HttpFixture.ps1')
    . (Join-Path $PSScriptRoot 'RemoteEstate.ps1')
    . (Join-Path $PSScriptRoot 'ProxmoxFixture.ps1')
    $script:Ns = 'InfraRelocation.Commands.Cmdlets'
    $script:Manifest = 'ops/bindings/infra.relocation.plan.yaml'
    $script:Approver = 'cab-chair'
    # Transition receipts warn about SSOT files still to update; the assertions below read the receipts instead.
    $script:WarningPreference = 'SilentlyContinue'

    function Get-ManifestText { [IO.File]::ReadAllText((Join-Path $script:root $script:Manifest)) }
    # Reads write nothing: Get-RelocationManifest leaves no receipt.
    function Read-Manifest { Get-RelocationManifest -Root $script:root }
    function Get-Service([string] $Name) { (Read-Manifest).Services | Where-Object Service -EQ $Name }

    # The receipts this scenario expects in the ledger, in order, as "Command/Outcome".
    $script:expected = [System.Collections.Generic.List[string]]::new()
    function Expect([string[]] $Lines) { foreach ($l in $Lines) { $script:expected.Add($l) } }
    function Get-LedgerLines { @(Get-RelocationReceipt -Root $script:root | ForEach-Object { "$($_.Command)/$($_.Outcome)" }) }
    function Assert-Ledger {
        # The ledger holds exactly the receipts expected so far (one per step, in order).
        $actual = Get-LedgerLines
        ($actual -join "`n") | Should -Be ($script:expected -join "`n")
    }

    # A hand edit of the manifest (the way an operator changes planning fields such as health_url).
    function Edit-Manifest([string] $Pattern, [string] $Replacement) {
        $path = Join-Path $script:root $script:Manifest
        $text = [IO.File]::ReadAllText($path)
        $new = [regex]::Replace($text, $Pattern, $Replacement, [Text.RegularExpressions.RegexOptions]::Multiline)
        if ($new -eq $text) { throw "pattern '$Pattern' not found in the manifest" }
        [IO.File]::WriteAllText($path, $new)
    }

    # A copy of the estate as it is now, without its receipt ledger (for the guard's negative cases).
    function Copy-EstateWithoutLedger([string] $Name) {
        $copy = Join-Path $TestDrive "$Name-$([guid]::NewGuid().ToString('n').Substring(0, 8))"
        New-Item -ItemType Directory $copy | Out-Null
        Copy-Item (Join-Path $script:root 'ops') (Join-Path $copy 'ops') -Recurse
        Copy-Item (Join-Path $script:root 'backups') (Join-Path $copy 'backups') -Recurse
        # Without its ledger, the copy has no history: its manifest's ledger_anchor (the head of the runbook's
        # ledger) goes too, or the guard would rightly report a truncated ledger first.
        $manifest = Join-Path $copy $script:Manifest
        [IO.File]::WriteAllText($manifest, [regex]::Replace([IO.File]::ReadAllText($manifest), '(?m)^ledger_anchor: .*\r?\n', ''))
        # The backup targets name absolute folders of the runbook estate; they stay valid for the copy.
        $copy
    }
}

Describe 'A relocation runbook, preflight to complete, against loopback sshd, the Proxmox emulator and HTTP' -Skip:([bool]$skipReason) {
    BeforeAll {
        $script:started = [Diagnostics.Stopwatch]::StartNew()
        $script:asOf = [DateTimeOffset]::UtcNow
        $env:INFRA_RELOCATION_PVE_POLL_MS = '50'
        $pins = @{
            'pve-fra1-a' = '3f9c2a1b7d4e4c0a9b8e6f5d4c3b2a19'
            'pve-fra1-b' = 'a0b1c2d3e4f5461788990a1b2c3d4e5f'
            'pve-ams1-a' = '5e6f708192a34b5c8d9e0f1a2b3c4d5e'
        }
        $script:http = Start-TestHttpServer
        $script:vm = Start-TestSshServer -Name rb-vms -Hostname files-core
        $hvMap = @{}
        foreach ($id in $pins.Keys) { $hvMap[$id] = Start-TestSshServer -Name "rb-$id" -Hostname $id -MachineId $pins[$id] }
        $script:pve = Start-TestProxmoxEmulator -TaskMs 100

        $script:root = New-TestEstate -Name runbook
        Set-TestSshTargets -Root $root -Default $vm -Map $hvMap
        Set-TestHealthUrls -Root $root -BaseUrl "http://127.0.0.1:$($http.Port)"
        Set-TestBackupTargets -Root $root -Folder (Join-Path $root 'backups')
        Initialize-TestProxmoxEstate -Root $root -Emulator $pve   # also sets $env:INFRA_RELOCATION_PVE_TOKEN

        # files-core (planned, VMID 216 on pve-fra1-a) gets a profile whose bootstrap steps are real marker files on
        # the VM's sshd, and whose readiness does not require a mesh (no tailscale on loopback) or cron (sshd's
        # namespace runs no cron daemon). Provisioning is docker-host-v2's.
        $script:work = Join-Path $root 'vm-files'
        New-Item -ItemType Directory -Path $work | Out-Null
        $q = { param($p) "'" + $p + "'" }
        Add-Content -Path (Join-Path $root 'ops/bindings/infra.vm.profiles.yaml') -Value @"

  runbook-v1:
    description: "test: docker-host-v2 provisioning, marker-file bootstrap on the loopback sshd"
    provisioning:
      template_vmid: "9002"
      cpu_cores: 4
      memory_mb: 8192
      disk_gb: 64
      qemu_agent: true
      onboot: true
    bootstrap:
      package_manager: none
      require_tailscale_connected: false
      require_qemu_agent_running: false
      require_docker_running: false
      require_cron_running: false
      steps:
        - { name: base, check: "test -f $(& $q "$work/base")", run: "touch $(& $q "$work/base")" }
        - { name: stack, check: "test -f $(& $q "$work/stack")", run: "touch $(& $q "$work/stack")" }
    readiness:
      require_running: true
      require_ssh_target_binding: true
      require_ssh_reachability: true
      require_tailscale_connected: false
      require_qemu_agent_running: true
      require_cron_running: false
      require_backup_binding: true
"@
        Edit-Manifest '(hostname: "files-core"(?:\n    .*)*?\n    profile: )"docker-host-v2"' '$1"runbook-v1"'
        # The runbook's first phase moves file-sync and photo-library to files-core, the VM it provisions (the sample's
        # phases follow it), so that phase's VM targets are files-core alone. The relocation starts in planning and
        # leaves it through Set-RelocationState (a Pre-Cutover item).
        $path = Join-Path $root $Manifest
        [IO.File]::WriteAllText($path, [regex]::Replace([IO.File]::ReadAllText($path), '(?m)^(    phase: )(\d+)', { param($m) $m.Groups[1].Value + ([int]$m.Groups[2].Value + 1) }))
        Edit-Manifest '(- service: "file-sync"(?:\n(?!  - ).*)*?\n    phase: )\d+' '${1}1'
        Edit-Manifest '(- service: "photo-library"(?:\n(?!  - ).*)*?\n    phase: )\d+' '${1}1'
        Edit-Manifest '^  state: "preflight"' '  state: "planning"'
    }

    AfterAll {
        if ($script:pve) { Stop-TestProxmoxEmulator $script:pve }
        Get-TestSshServer | Stop-TestSshServer
        if ($script:http) { $script:http.Dispose() }
        Remove-Item env:INFRA_RELOCATION_PVE_TOKEN, env:INFRA_RELOCATION_PVE_POLL_MS -ErrorAction Ignore
        Write-Host "Runbook scenario: $([int]$script:started.Elapsed.TotalSeconds) s"
    }

    It '1. impact + preflight: manifest, placement, live identity, impact, preflight with baseline and backups' {
        $m = Test-RelocationManifest -Root $root
        ($m | Where-Object { $_ -is [InfraRelocation.RelocationFinding] -and $_.Severity -eq 'Error' }) | ForEach-Object { "$($_.RuleId): $($_.Message)" } | Should -BeNullOrEmpty
        ($m | Where-Object { $_ -is [InfraRelocation.Receipts.RelocationReceipt] }).Outcome | Should -Be 'Passed'

        $p = Test-PlacementPolicy -Root $root
        ($p | Where-Object { $_ -is [InfraRelocation.Receipts.GateReceipt] }).Outcome | Should -Be 'Passed'

        $i = Test-HypervisorIdentity -Root $root -Live -Timeout 20
        ($i | Where-Object { $_ -is [InfraRelocation.RelocationFinding] }) | ForEach-Object { "$($_.RuleId): $($_.Message)" } | Should -BeNullOrEmpty
        ($i | Where-Object { $_ -is [InfraRelocation.Receipts.GateReceipt] }).Outcome | Should -Be 'Passed'

        $impact = Get-RelocationImpact -Root $root
        $rows = @($impact | Where-Object { $_ -is [InfraRelocation.Gates.ImpactItem] })
        ($impact | Where-Object { $_ -is [InfraRelocation.Receipts.RelocationReceipt] }).Outcome | Should -Be 'Passed'
        # The services past planned (the seven in shadow) already run on their to_host in every SSOT surface:
        # the delta matrix lists each surface, all satisfied.
        $rows.Service | Sort-Object -Unique | Should -Be @('grafana', 'identity-provider', 'pastebin', 'prometheus', 'status-page', 'web-portal', 'wiki')
        $rows | Where-Object { -not $_.Satisfied } | ForEach-Object { "$($_.Service) $($_.Surface): $($_.CurrentValue) -> $($_.RequiredValue)" } | Should -BeNullOrEmpty

        $out = Invoke-RelocationPreflight -Root $root -Timeout 20
        $pf = $out | Where-Object { $_ -is [InfraRelocation.Receipts.PreflightReceipt] }
        ($out | Where-Object { $_ -is [InfraRelocation.RelocationFinding] -and $_.Severity -eq 'Error' }) | ForEach-Object { "$($_.RuleId): $($_.Message)" } | Should -BeNullOrEmpty
        $pf.Outcome | Should -Be 'Passed'
        $pf.ChangeId | Should -Be 'CHG-2026-1118-SPLIT-LEGACY'
        $pf.Hosts | Where-Object Status -ne 'Ok' | Should -BeNullOrEmpty
        ($pf.Hosts | Where-Object HostId -eq 'pve-fra1-b').Evidence | Should -Match 'hostname pve-fra1-b'
        # Every service with a health_url has it on the loopback responder (Set-TestHealthUrls): the 15 of the 19
        # that have an HTTP endpoint are in the baseline (smtp-relay, postgres-main, redis-cache and ci-agent have none).
        $pf.HealthBaseline.Count | Should -Be 15
        $pf.HealthBaseline | ForEach-Object { $_.StatusCode | Should -Be 200; $_.Healthy | Should -BeTrue }
        Expect 'Test-PlacementPolicy/Passed', 'Test-HypervisorIdentity/Passed',
            'Get-RelocationImpact/Passed', 'Invoke-RelocationPreflight/Passed'
        $withBackup = @((Read-Manifest).Services | Where-Object { $_.BackupTarget })
        $pf.BackupVerification.Count | Should -Be $withBackup.Count
        $pf.BackupVerification | ForEach-Object { $_.Verified | Should -BeTrue -Because $_.Evidence }
        Assert-Ledger
    }

    It '2. pre-exec parity: D35 + D37 pass' {
        $out = Invoke-RelocationParity -Root $root
        ($out | Where-Object { $_ -is [InfraRelocation.RelocationFinding] -and $_.Severity -eq 'Error' }) | ForEach-Object { "$($_.RuleId): $($_.Message)" } | Should -BeNullOrEmpty
        $r = $out | Where-Object { $_ -is [InfraRelocation.Receipts.GateReceipt] }
        $r.Outcome | Should -Be 'Passed'
        $r.Results.GateId | Should -Contain 'D35'
        $r.Results.GateId | Should -Contain 'D37'
        Expect 'Invoke-RelocationParity/Passed'
        Assert-Ledger
    }

    It '3. provision files-core: -WhatIf sends no mutating request, execute records provisioned + address' {
        $planned = @((Read-Manifest).VmTargets | Where-Object StatusText -EQ planned).Hostname
        $planned | Should -Contain 'files-core'
        $before = Get-ManifestText
        Clear-TestProxmoxRequest $pve

        $preview = New-ProxmoxVm -Root $root -Hostname files-core -WhatIf
        $preview.Outcome | Should -Be 'Previewed'
        $preview.Steps.Name | Should -Be @('clone', 'configure', 'resize', 'start', 'address', 'record')
        @(Get-TestProxmoxMutatingRequest $pve).Count | Should -Be 0
        @(Get-TestProxmoxRequest $pve).Count | Should -BeGreaterThan 0 -Because 'the preview reads the node and template'
        Get-ManifestText | Should -BeExactly $before
        Expect 'New-ProxmoxVm/Previewed'

        $r = New-ProxmoxVm -Root $root -Hostname files-core -Confirm:$false
        Expect 'New-ProxmoxVm/Succeeded'
        $r.Outcome | Should -Be 'Succeeded'
        $r.VmId | Should -Be 216
        $r.Address | Should -Be '192.0.2.116'
        (Get-TestProxmoxVm $pve -VmId 216).status | Should -Be 'running'
        $target = (Read-Manifest).VmTargets | Where-Object Hostname -EQ files-core
        $target.StatusText | Should -Be 'provisioned'
        $target.Address | Should -Be '192.0.2.116'
        Assert-Ledger
    }

    It '4. bootstrap files-core over SSH, then readiness' {
        $out = Initialize-RelocationVm -Root $root -Hostname files-core -Confirm:$false
        $steps = $out | Where-Object { $_ -is [InfraRelocation.Remote.BootstrapStepResult] }
        ($steps | Where-Object Step -Like 'step:*').State | Should -Be @('Done', 'Done')
        ($out | Where-Object { $_ -is [InfraRelocation.Receipts.BootstrapReceipt] }).Outcome | Should -Be 'Succeeded'
        ($out | Where-Object { $_ -is [InfraRelocation.Receipts.BootstrapReceipt] }).Profile | Should -Be 'runbook-v1'
        Test-Path "$work/base" | Should -BeTrue
        Test-Path "$work/stack" | Should -BeTrue

        $ready = Get-VmReadiness -Root $root -Hostname files-core
        $rows = @{}; $ready | Where-Object { $_ -is [InfraRelocation.Remote.ReadinessCheck] } | ForEach-Object { $rows[$_.Check] = $_ }
        $rows.Keys | Sort-Object | Should -Be @('backup_binding', 'cron_running', 'qemu_agent_running', 'ssh_reachability', 'ssh_target_binding', 'tailscale_connected', 'vm_running')
        # OK: the emulator runs VM 216 with its guest agent; the ssh target exists and answers; the backup inventory
        # has vm-216-files-core-primary.
        foreach ($c in 'vm_running', 'qemu_agent_running', 'ssh_target_binding', 'ssh_reachability', 'backup_binding') {
            $rows[$c].Status | Should -Be 'Ok' -Because "${c}: $($rows[$c].Evidence)"
        }
        $rows.backup_binding.Evidence | Should -Match 'vm-216-files-core'
        # SKIP, expected: runbook-v1 switches these off (no mesh on loopback, no cron daemon in sshd's namespace).
        $rows.tailscale_connected.Status | Should -Be 'Skip'
        $rows.cron_running.Status | Should -Be 'Skip'
        ($ready | Where-Object { $_ -is [InfraRelocation.Receipts.ReadinessReceipt] }).Outcome | Should -Be 'Passed'
        Expect 'Initialize-RelocationVm/Succeeded', 'Get-VmReadiness/Passed'
        Assert-Ledger
    }

    It '5. state transition planning -> preflight; the read checks run again after the VM work; the impact review confirmed' {
        $p = Set-RelocationState -Root $root -State preflight -Confirm:$false
        $p.Outcome | Should -Be 'Succeeded'
        $p.Before | Should -Be 'planning'
        Expect 'Set-RelocationState/Succeeded'
        # Provisioning wrote the manifest (status, address): the read checks run again so that their evidence
        # describes it as it is now (the checklist counts a receipt only while the files it read are unchanged).
        (Test-PlacementPolicy -Root $root | Where-Object { $_ -is [InfraRelocation.Receipts.GateReceipt] }).Outcome | Should -Be 'Passed'
        (Test-HypervisorIdentity -Root $root -Live -Timeout 20 | Where-Object { $_ -is [InfraRelocation.Receipts.GateReceipt] }).Outcome | Should -Be 'Passed'
        (Get-RelocationImpact -Root $root | Where-Object { $_ -is [InfraRelocation.Receipts.RelocationReceipt] }).Outcome | Should -Be 'Passed'
        (Invoke-RelocationPreflight -Root $root -Timeout 20 | Where-Object { $_ -is [InfraRelocation.Receipts.PreflightReceipt] }).Outcome | Should -Be 'Passed'
        (Invoke-RelocationParity -Root $root | Where-Object { $_ -is [InfraRelocation.Receipts.GateReceipt] }).Outcome | Should -Be 'Passed'
        Expect 'Test-PlacementPolicy/Passed', 'Test-HypervisorIdentity/Passed', 'Get-RelocationImpact/Passed', 'Invoke-RelocationPreflight/Passed', 'Invoke-RelocationParity/Passed'
        $c = Confirm-RelocationChecklistItem -Root $root -Item ImpactReviewed -ConfirmedBy $Approver -Evidence 'https://tickets.example/CAB-2026-118'
        $c.Outcome | Should -Be 'Succeeded'
        Expect 'Confirm-RelocationChecklistItem/Succeeded'
        Assert-Ledger
    }

    It '5. the cutover guard refuses without a preflight receipt and with a failed one' {
        $Err = "TransitionBlocked,$Ns.SetRelocationStateCommand"
        # No ledger at all.
        $bare = Copy-EstateWithoutLedger 'no-preflight'
        $e = { Set-RelocationState -Root $bare -State cutover -ApprovedBy $Approver -Confirm:$false } | Should -Throw -ErrorId $Err -PassThru
        $e.Exception.Message | Should -Match 'no passing preflight receipt'
        (Get-RelocationManifest -Root $bare).ActiveRelocation.StateText | Should -Be 'preflight'

        # A real preflight that fails (wiki's new instance answers 503), then the same transition.
        $failed = Copy-EstateWithoutLedger 'failed-preflight'
        $f = Join-Path $failed $Manifest
        [IO.File]::WriteAllText($f, ([IO.File]::ReadAllText($f) -replace '/svc/wiki"', '/status/503"'))
        $pf = Invoke-RelocationPreflight -Root $failed -Timeout 20 | Where-Object { $_ -is [InfraRelocation.Receipts.PreflightReceipt] }
        $pf.Outcome | Should -Be 'Failed'
        ($pf.HealthBaseline | Where-Object Service -EQ wiki).StatusCode | Should -Be 503
        $e = { Set-RelocationState -Root $failed -State cutover -ApprovedBy $Approver -Confirm:$false } | Should -Throw -ErrorId $Err -PassThru
        $e.Exception.Message | Should -Match 'no passing preflight receipt'
        (Get-RelocationManifest -Root $failed).ActiveRelocation.StateText | Should -Be 'preflight'
        Assert-Ledger   # the runbook estate's ledger is untouched
    }

    It '5. VM target ready, then cutover approved by someone else, on a complete Pre-Cutover checklist' {
        # files-core passed readiness but its status is still provisioned: cutover is refused, naming that item alone.
        $e = { Set-RelocationState -Root $root -State cutover -ApprovedBy $Approver -Confirm:$false } | Should -Throw -ErrorId "TransitionBlocked,$Ns.SetRelocationStateCommand" -PassThru
        @($e.Exception.Findings | Where-Object Severity -EQ 'Error').Subject | Should -Be @('PRE.VmReady')
        $e.Exception.Message | Should -Match 'PRE\.VmReady \(.*\) is Missing: Phase 1: files-core: readiness .* passed, but its status is provisioned, not ready\. Complete it with: Set-RelocationVmTarget -Hostname files-core -Status ready'
        Expect 'Set-RelocationState/Blocked'

        $v = Set-RelocationVmTarget -Root $root -Hostname files-core -Status ready
        $v.Outcome | Should -Be 'Succeeded'
        Expect 'Set-RelocationVmTarget/Succeeded'
        ((Read-Manifest).VmTargets | Where-Object Hostname -EQ files-core).StatusText | Should -Be 'ready'

        [Environment]::UserName | Should -Not -Be $Approver
        # Every Pre-Cutover item is Done from the runs above, the approval aside (the cutover transition records it).
        $pre = @(Get-RelocationChecklist -Root $root -Phase PreCutover | Where-Object { $_ -is [InfraRelocation.Gates.ChecklistItem] })
        $pre | Where-Object { $_.State -ne 'Done' -and $_.Id -ne 'PRE.Approval' } | ForEach-Object { "$($_.Id) $($_.State): $($_.Evidence)" } | Should -BeNullOrEmpty
        ($pre | Where-Object Id -EQ 'PRE.VmReady').Evidence | Should -Match '^Phase 1: files-core: ready, '
        Expect 'Get-RelocationChecklist/Failed'   # the approval is still missing
        $s = Set-RelocationState -Root $root -State cutover -ApprovedBy $Approver -Confirm:$false
        $s.Outcome | Should -Be 'Succeeded'
        $s.OverrideReason | Should -BeNullOrEmpty
        $s.Before | Should -Be 'preflight'
        $s.After | Should -Be 'cutover'
        $s.Overrides | Should -BeNullOrEmpty
        Expect 'Set-RelocationState/Succeeded'
        $active = (Read-Manifest).ActiveRelocation
        $active.StateText | Should -Be 'cutover'
        $active.ApprovedBy | Should -Be $Approver
        (Get-RelocationChecklist -Root $root -Phase PreCutover | Where-Object { $_ -is [InfraRelocation.Gates.ChecklistItem] }).State | Sort-Object -Unique | Should -Be 'Done'
        Expect 'Get-RelocationChecklist/Passed'
        Assert-Ledger
    }

    It '5. a later phase''s service enters cutover only with its phase''s VM targets ready: blocked, forced with a reason, passing on a real readiness run' {
        $Err = "TransitionBlocked,$Ns.SetRelocationServiceStatusCommand"
        # On a copy of the estate in cutover (files and ledger, byte for byte): the loopback hosts and the emulator
        # answer for it too, and the runbook's own ledger stays as Assert-Ledger expects it.
        $copy = New-TestEstate -From $root -Name later-phase
        function Get-CopyManifest { [IO.File]::ReadAllText((Join-Path $copy $Manifest)) }
        function Get-LastRun { Get-RelocationReceipt -Root $copy | Select-Object -Last 1 }

        # Blocked: entering cutover checked phase 1 (files-core). prometheus is phase 3 here (the runbook shifted the
        # sample's phases), whose services move to app-web and mon-core: no provisioning, bootstrap or readiness run.
        $before = Get-CopyManifest
        $e = { Set-RelocationServiceStatus -Root $copy -Service prometheus -Status cutover -ErrorAction Stop } | Should -Throw -ErrorId $Err -PassThru
        @($e.Exception.Findings | Where-Object Severity -EQ 'Error').Subject | Should -Be @('PRE.VmProvisioned', 'PRE.VmBootstrapped', 'PRE.VmReady')
        $e.Exception.Message | Should -Match ("ops/bindings/infra\.relocation\.plan\.yaml:\d+:13: Error TRANSITION\.ChecklistIncomplete: Moving 'prometheus' \(phase 3\) to cutover needs the Pre-Cutover checklist's VM items for its phase: " +
            'PRE\.VmReady \(.*\) is Missing: Phase 3: app-web: no readiness receipt; mon-core: no readiness receipt\. Complete it with: Get-VmReadiness -Hostname app-web')
        $e.Exception.Message | Should -Match 'PRE\.VmProvisioned .* Complete it with: New-ProxmoxVm -Hostname app-web'
        $e.Exception.Message | Should -Match '-Force -Reason'
        Get-CopyManifest | Should -BeExactly $before
        (Get-LastRun).Outcome | Should -Be 'Blocked'
        $w = { Set-RelocationServiceStatus -Root $copy -Service prometheus -Status cutover -WhatIf -ErrorAction Stop } | Should -Throw -ErrorId $Err -PassThru
        @($w.Exception.Findings | Where-Object Severity -EQ 'Error').Subject | Should -Be @('PRE.VmProvisioned', 'PRE.VmBootstrapped', 'PRE.VmReady')
        Get-CopyManifest | Should -BeExactly $before

        # Forced with a reason: written; the items, the override and the reason are in the receipt, and the checklist
        # knows this run overrode phase 3's VM items (a second service of phase 3 needs no second override).
        $f = Set-RelocationServiceStatus -Root $copy -Service prometheus -Status cutover -Force -Reason 'CAB-2026-118: mon-core and app-web checked by the platform team'
        $f.Outcome | Should -Be 'Succeeded'
        $f.OverrideReason | Should -Be 'CAB-2026-118: mon-core and app-web checked by the platform team'
        ($f.Overrides -join "`n") | Should -Match "Moved 'prometheus' to cutover with 3 Pre-Cutover item\(s\) of phase 3 not done \(PRE\.VmProvisioned, PRE\.VmBootstrapped, PRE\.VmReady\); reason: CAB-2026-118"
        $warned = @($f.Findings | Where-Object RuleId -EQ 'TRANSITION.ChecklistIncomplete')
        $warned.Subject | Should -Be @('PRE.VmProvisioned', 'PRE.VmBootstrapped', 'PRE.VmReady')
        $warned.Severity | Sort-Object -Unique | Should -Be 'Warning'
        $warned.Expected | Sort-Object -Unique | Should -Be 'Done for phase 3'
        ((Get-RelocationManifest -Root $copy).Services | Where-Object Service -EQ prometheus).StatusText | Should -Be 'cutover'
        (Set-RelocationServiceStatus -Root $copy -Service grafana -Status cutover).Outcome | Should -Be 'Succeeded'

        # Passing on real evidence: photo-library moves to files-core, which this runbook provisioned, bootstrapped
        # and made ready. Re-phased alone into a later phase (a planning field), with its SSOT files pointing at
        # files-core; the hand edits changed files the readiness run read, so readiness runs again, for real.
        $path = Join-Path $copy $Manifest
        [IO.File]::WriteAllText($path, [regex]::Replace((Get-CopyManifest), '(- service: "photo-library"(?:\n(?!  - ).*)*?\n    phase: )\d+', '${1}9'))
        Set-TestSsotReady $copy 'photo-library' 'files-core'
        $stale = { Set-RelocationServiceStatus -Root $copy -Service photo-library -Status cutover -ErrorAction Stop } | Should -Throw -ErrorId $Err -PassThru
        @($stale.Exception.Findings | Where-Object Severity -EQ 'Error').Subject | Should -Be @('PRE.VmReady')
        $stale.Exception.Message | Should -Match "Moving 'photo-library' \(phase 9\) .* Phase 9: files-core: run .* read files that changed since: ops/bindings/infra\.relocation\.plan\.yaml"
        (Get-VmReadiness -Root $copy -Hostname files-core | Where-Object { $_ -is [InfraRelocation.Receipts.ReadinessReceipt] }).Outcome | Should -Be 'Passed'
        $p = Set-RelocationServiceStatus -Root $copy -Service photo-library -Status cutover
        $p.Outcome | Should -Be 'Succeeded'
        $p.OverrideReason | Should -BeNullOrEmpty
        $p.Findings | Where-Object RuleId -EQ 'TRANSITION.ChecklistIncomplete' | Should -BeNullOrEmpty
        (Test-RelocationReceiptChain -Root $copy).IsValid | Should -BeTrue
        Assert-Ledger   # the runbook estate's ledger is untouched
    }

    It '5. a service of the first phase, and one without a phase, are checked at their move the same way: passing on the real evidence of the VM target they land on' {
        # On a copy (files and ledger, byte for byte), as above. file-sync is phase 1 here (files-core, the VM this runbook
        # made ready); photo-library loses its phase and is judged on files-core, the VM target its to_host names.
        $copy = New-TestEstate -From $root -Name first-phase
        $path = Join-Path $copy $Manifest
        [IO.File]::WriteAllText($path, [regex]::Replace([IO.File]::ReadAllText($path), '(- service: "photo-library"(?:\n(?!  - ).*)*?\n    phase: )\d+', '${1}null'))
        Set-TestSsotReady $copy 'file-sync' 'files-core'
        Set-TestSsotReady $copy 'photo-library' 'files-core'
        # The hand edits changed files the readiness run read: it runs again, for real.
        (Get-VmReadiness -Root $copy -Hostname files-core | Where-Object { $_ -is [InfraRelocation.Receipts.ReadinessReceipt] }).Outcome | Should -Be 'Passed'
        foreach ($s in 'file-sync', 'photo-library') {
            $r = Set-RelocationServiceStatus -Root $copy -Service $s -Status cutover
            $r.Outcome | Should -Be 'Succeeded'
            $r.OverrideReason | Should -BeNullOrEmpty
            $r.Findings | Where-Object RuleId -EQ 'TRANSITION.ChecklistIncomplete' | Should -BeNullOrEmpty
        }
        Assert-Ledger   # the runbook estate's ledger is untouched
    }

    It '6. services: shadow -> cutover, health-gated promotion, a 503 refused, the rest, cleanup, complete' {
        $shadow = @((Read-Manifest).Services | Where-Object StatusText -EQ shadow)
        $shadow.Service | Should -Be @('wiki', 'pastebin', 'status-page', 'prometheus', 'grafana', 'web-portal', 'identity-provider')
        # Their VM targets (phases 2 and up) were not provisioned, bootstrapped or checked by this runbook, which made
        # files-core alone: the moves are forced, with the reason on record (step 5's later-phase scenario shows the
        # guard refusing and passing).
        $moved = $shadow | Set-RelocationServiceStatus -Root $root -Status cutover -Force -Reason 'runbook: the VMs of phases 2 and up were made ready in an earlier change'
        $moved.Outcome | Sort-Object -Unique | Should -Be 'Succeeded'
        $moved.OverrideReason | Sort-Object -Unique | Should -Be 'runbook: the VMs of phases 2 and up were made ready in an earlier change'
        $moved | ForEach-Object { Expect 'Set-RelocationServiceStatus/Succeeded' }

        # Promotion against the healthy loopback endpoint.
        $p = Invoke-RelocationPromotion -Root $root -Service wiki -Probes 2 -Interval 0.05 -Window 20
        $p.Outcome | Should -Be 'Succeeded'
        $p.Probes.StatusCode | Sort-Object -Unique | Should -Be 200
        $p.ParityPassed | Should -BeTrue
        Expect 'Invoke-RelocationPromotion/Succeeded'
        (Get-Service wiki).StatusText | Should -Be 'migrated'

        # pastebin's new instance answers 503: the promotion is refused and the manifest is not touched.
        Edit-Manifest '/svc/pastebin"' '/status/503"'
        $before = Get-ManifestText
        $e = { Invoke-RelocationPromotion -Root $root -Service pastebin -Probes 2 -Interval 0.05 -Window 1 -Timeout 1 -ErrorAction Stop } |
            Should -Throw -ErrorId "PromotionUnhealthy,$Ns.InvokeRelocationPromotionCommand" -PassThru
        $e.Exception.Message | Should -Match 'Nothing was written'
        Get-ManifestText | Should -BeExactly $before
        Expect 'Invoke-RelocationPromotion/Blocked'
        (Get-Service pastebin).StatusText | Should -Be 'cutover'

        # Fixed: the endpoint is healthy again; the other cutover services are promoted the same way.
        Edit-Manifest '/status/503"' '/svc/pastebin"'
        $rest = (Read-Manifest).Services | Where-Object StatusText -EQ cutover |
            Invoke-RelocationPromotion -Root $root -Probes 1 -Interval 0.05 -Window 20
        @($rest).Count | Should -Be 6
        $rest.Outcome | Sort-Object -Unique | Should -Be 'Succeeded'
        $rest.ParityPassed | Sort-Object -Unique | Should -BeTrue
        $rest | ForEach-Object { Expect 'Invoke-RelocationPromotion/Succeeded' }

        # The planned services: their other SSOT files (stack registry, health bindings, backups, ...) are not updated
        # in this fixture, so the mutation guard refuses their cutover (D35 on the estate after the move). The runbook
        # forces it with a reason (recorded in each receipt), then rolls them back, which only removes errors.
        # Two move normally: ci-agent, a new deployment whose SSOT files already name ci-runner, and alertmanager, whose
        # rollback target is another host, after the operator updates its SSOT files.
        Set-TestSsotReady $root 'alertmanager' 'mon-core'
        $all = @((Read-Manifest).Services | Where-Object StatusText -EQ planned)
        $all.Count | Should -Be 12
        $planned = @($all | Where-Object Service -NotIn 'ci-agent', 'alertmanager')
        { $planned[0] | Set-RelocationServiceStatus -Root $root -Status cutover -ErrorAction Stop } |
            Should -Throw -ErrorId "TransitionBlocked,$Ns.SetRelocationServiceStatusCommand"
        Expect 'Set-RelocationServiceStatus/Blocked'
        $c = $planned | Set-RelocationServiceStatus -Root $root -Status cutover -Force -Reason 'runbook: their SSOT files move in a later change'
        $c.Outcome | Sort-Object -Unique | Should -Be 'Succeeded'
        $c.OverrideReason | Sort-Object -Unique | Should -Be 'runbook: their SSOT files move in a later change'
        $rb = $planned | Set-RelocationServiceStatus -Root $root -Status rolled-back
        $rb.Outcome | Sort-Object -Unique | Should -Be 'Succeeded'
        foreach ($s in 'ci-agent', 'alertmanager') {
            (Set-RelocationServiceStatus -Root $root -Service $s -Status cutover).Outcome | Should -Be 'Succeeded'
            (Set-RelocationServiceStatus -Root $root -Service $s -Status migrated -Force -Reason 'runbook: recorded without probes').Outcome | Should -Be 'Succeeded'
        }
        1..24 | ForEach-Object { Expect 'Set-RelocationServiceStatus/Succeeded' }

        # The Post-Cutover checklist from this phase's evidence (cleanup needs it complete): the impact has nothing
        # pending, hypervisor identity (live), parity and the gate pass.
        $receiptOf = { $args[0] | Where-Object { $_ -is [InfraRelocation.Receipts.RelocationReceipt] } }
        (& $receiptOf (Get-RelocationImpact -Root $root)).Outcome | Should -Be 'Passed'
        (& $receiptOf (Test-HypervisorIdentity -Root $root -Live -Timeout 20)).Outcome | Should -Be 'Passed'
        (& $receiptOf (Invoke-RelocationParity -Root $root)).Outcome | Should -Be 'Passed'
        (& $receiptOf (Invoke-RelocationGate -Root $root -AsOf $asOf)).Outcome | Should -Be 'Passed'
        Expect 'Get-RelocationImpact/Passed', 'Test-HypervisorIdentity/Passed', 'Invoke-RelocationParity/Passed', 'Invoke-RelocationGate/Passed'
        $post = @(Get-RelocationChecklist -Root $root -Phase PostCutover | Where-Object { $_ -is [InfraRelocation.Gates.ChecklistItem] })
        Expect 'Get-RelocationChecklist/Passed'
        # Health shows Overridden: alertmanager and ci-agent were promoted without probes, by an override above.
        ($post | Where-Object Id -EQ 'POST.Health').State | Should -Be 'Overridden'
        $post | Where-Object { $_.Id -ne 'POST.Health' -and $_.State -ne 'Done' } | ForEach-Object { "$($_.Id) $($_.State): $($_.Evidence)" } | Should -BeNullOrEmpty

        $cl = Set-RelocationState -Root $root -State cleanup -Confirm:$false
        $cl.Outcome | Should -Be 'Succeeded'
        Expect 'Set-RelocationState/Succeeded'
        # Post-change parity of this phase: the promoted services agree everywhere, the rolled-back ones name their
        # rollback targets; D35 and D37 pass (cleanup needs D35 green).
        $parity = Invoke-RelocationParity -Root $root
        Expect 'Invoke-RelocationParity/Passed'
        @($parity | Where-Object { $_ -is [InfraRelocation.RelocationFinding] -and $_.Severity -eq 'Error' }) | Should -BeNullOrEmpty
        $done = (Read-Manifest).Services | Where-Object StatusText -EQ migrated | Set-RelocationServiceStatus -Root $root -Status complete
        @($done).Count | Should -Be 9
        $done.Outcome | Sort-Object -Unique | Should -Be 'Succeeded'
        1..9 | ForEach-Object { Expect 'Set-RelocationServiceStatus/Succeeded' }
        # The Post-Cleanup items a person confirms, each with its evidence link.
        foreach ($item in 'OldResourcesDecommissioned', 'OpenLoopClosed') {
            (Confirm-RelocationChecklistItem -Root $root -Item $item -ConfirmedBy '@ops-lead' -Evidence "https://tickets.example/OL-2026-118#$item" -Confirm:$false).Outcome | Should -Be 'Succeeded'
            Expect 'Confirm-RelocationChecklistItem/Succeeded'
        }
        $final = Set-RelocationState -Root $root -State complete -Confirm:$false
        $final.Outcome | Should -Be 'Succeeded'
        $final.Before | Should -Be 'cleanup'
        Expect 'Set-RelocationState/Succeeded'
        $m = Read-Manifest
        $m.ActiveRelocation.StateText | Should -Be 'complete'
        $m.Services.StatusText | Sort-Object -Unique | Should -Be @('complete', 'rolled-back')
        Assert-Ledger
    }

    It '7. final verification: identity, gate, rollback plan, receipt chain, one receipt per step' {
        $i = Test-HypervisorIdentity -Root $root -Live -Timeout 20
        ($i | Where-Object { $_ -is [InfraRelocation.Receipts.GateReceipt] }).Outcome | Should -Be 'Passed'
        Expect 'Test-HypervisorIdentity/Passed'

        # In state complete the protocol runs D35 no more (its strict contract covers preflight, cutover and
        # cleanup); schema, D36, D37 and identity pass.
        $g = Invoke-RelocationGate -Root $root -AsOf $asOf
        ($g | Where-Object { $_ -is [InfraRelocation.RelocationFinding] -and $_.Severity -eq 'Error' }) | ForEach-Object { "$($_.RuleId): $($_.Message)" } | Should -BeNullOrEmpty
        ($g | Where-Object { $_ -is [InfraRelocation.Receipts.GateReceipt] }).Outcome | Should -Be 'Passed'

        $plan = Get-RelocationRollbackPlan -Root $root -Service wiki
        $steps = @($plan | Where-Object { $_ -is [InfraRelocation.Gates.RollbackStep] })
        $steps.Count | Should -BeGreaterThan 3
        $steps.Order | Should -Be @(1..$steps.Count)
        $steps.Service | Sort-Object -Unique | Should -Be 'wiki'
        $steps[0].Kind | Should -Be 'Stop'
        ($steps | Where-Object Kind -EQ 'Revert').File | Should -Contain 'ops/governance/SERVICE_REGISTRY.yaml'

        $chain = Test-RelocationReceiptChain -Root $root
        $chain.IsValid | Should -BeTrue

        # Test-RelocationReceiptChain reads evidence and writes none.
        Expect 'Invoke-RelocationGate/Passed', 'Get-RelocationRollbackPlan/Passed'
        Assert-Ledger
        # The cutover guard's evidence came from the real preflight runs, step 1's and step 5's after the VM work (no
        # stand-in receipt in the ledger).
        $pre = @(Get-RelocationReceipt -Root $root -Capability infra.relocation.preflight)
        $pre.Count | Should -Be 2
        $pre.Command | Sort-Object -Unique | Should -Be 'Invoke-RelocationPreflight'
        $pre | ForEach-Object { $_ | Should -BeOfType ([InfraRelocation.Receipts.PreflightReceipt]) }
    }
}
