# Demo step: preflight, bootstrap and readiness over SSH. When sshd can run here, local OpenSSH servers on
# 127.0.0.1 stand in for the estate's hosts (tests/Pester/SshFixture.ps1; hypervisors get their pinned machine-ids
# in private namespaces when running as root) and a loopback HTTP responder for the health URLs. Otherwise the
# mutating steps are shown with -WhatIf and the reason is printed. Works on its own copy of $DemoRoot.

. (Join-Path $RepoRoot 'tests/Pester/SshFixture.ps1')
. (Join-Path $RepoRoot 'tests/Pester/HttpFixture.ps1')
. (Join-Path $RepoRoot 'tests/Pester/RemoteEstate.ps1')

$remoteRoot = "$DemoRoot-remote"
Copy-Item $DemoRoot $remoteRoot -Recurse
$sshReason = Test-TestSshServerAvailable
$servers = @()
$http = $null
try {
    if (-not $sshReason) {
        try {
            $vm = Start-TestSshServer -Name demo-vms -Hostname app-core
            $servers += $vm
            $pins = @{ 'pve-fra1-a' = '3f9c2a1b7d4e4c0a9b8e6f5d4c3b2a19'; 'pve-fra1-b' = 'a0b1c2d3e4f5461788990a1b2c3d4e5f'; 'pve-ams1-a' = '5e6f708192a34b5c8d9e0f1a2b3c4d5e' }
            $map = @{}
            foreach ($id in $pins.Keys) { $map[$id] = Start-TestSshServer -Name "demo-$id" -Hostname $id -MachineId $pins[$id]; $servers += $map[$id] }
        } catch { $sshReason = "$_" }
    }

    if ($sshReason) {
        Write-DemoStep "Remote operations as -WhatIf (no local sshd: $sshReason)"
        Write-DemoCommand 'Initialize-RelocationVm -Root $root -Hostname app-core -WhatIf'
        Initialize-RelocationVm -Root $remoteRoot -Hostname app-core -WhatIf | Where-Object { $_ -is [InfraRelocation.Remote.BootstrapStepResult] } |
            Format-Table Order, Step, State, CheckCommand, RunCommand -Wrap -Force | Out-Host
        Write-DemoCommand 'Invoke-RelocationPreflight -Root $root -Timeout 1   # the sample addresses are documentation ranges: unreachable'
        Invoke-RelocationPreflight -Root $remoteRoot -Timeout 1 | Where-Object { $_ -is [InfraRelocation.Receipts.PreflightReceipt] } |
            Format-List Capability, Outcome, Summary -Force | Out-Host
        return
    }

    $http = Start-TestHttpServer
    Set-TestSshTargets -Root $remoteRoot -Default $vm -Map $map
    Set-TestHealthUrls -Root $remoteRoot -BaseUrl "http://127.0.0.1:$($http.Port)" -Override @{ 'docs-site' = "http://127.0.0.1:$($http.Port)/status/503" }
    Set-TestBackupTargets -Root $remoteRoot -Folder (Join-Path $remoteRoot 'backups')
    if (-not $vm.IsolatesIdentity) { Write-Host 'Note: sshd runs without private namespaces (not root): hypervisors report this machine''s hostname, so identity findings are expected.' }

    Write-DemoStep "Preflight against $($servers.Count) local sshd instances and a loopback health responder (docs-site answers 503)"
    Write-DemoCommand 'Invoke-RelocationPreflight -Root $root'
    $pf = @(Invoke-RelocationPreflight -Root $remoteRoot)
    $receipt = $pf | Where-Object { $_ -is [InfraRelocation.Receipts.PreflightReceipt] }
    $pf | Where-Object { $_ -is [InfraRelocation.RelocationFinding] } | Format-Table Severity, RuleId, Subject, Message -Wrap -Force | Out-Host
    $receipt | Format-List Capability, Outcome, Summary, DurationMs -Force | Out-Host
    $receipt.Hosts | Select-Object -First 6 | Out-Host
    $receipt.HealthBaseline | Select-Object -First 6 | Out-Host
    $receipt.BackupVerification | Select-Object -First 4 | Out-Host

    Write-DemoStep 'Bootstrap: a demo profile whose steps run for real on the local sshd (marker files), then a re-run'
    $work = Join-Path $remoteRoot 'vm-files'
    New-Item -ItemType Directory $work | Out-Null
    Add-TestStepProfile -Root $remoteRoot -Name demo-v1 -Description 'demo: steps that run on the local sshd host' -Steps @(
        @{ name = 'motd'; check = "test -f '$work/motd'"; run = "echo 'managed by infra-relocation' > '$work/motd'" }
        @{ name = 'app-dir'; check = "test -d '$work/srv/app'"; run = "mkdir -p '$work/srv/app'" })
    Write-DemoCommand 'Initialize-RelocationVm -Root $root -Hostname app-core -Profile demo-v1 -WhatIf'
    Initialize-RelocationVm -Root $remoteRoot -Hostname app-core -Profile demo-v1 -WhatIf | Where-Object { $_ -is [InfraRelocation.Remote.BootstrapStepResult] } |
        Format-Table Order, Step, State, RunCommand -Wrap -Force | Out-Host
    Write-DemoCommand 'Initialize-RelocationVm -Root $root -Hostname app-core -Profile demo-v1 -Confirm:$false'
    $boot = Initialize-RelocationVm -Root $remoteRoot -Hostname app-core -Profile demo-v1 -Confirm:$false
    $boot | Where-Object { $_ -is [InfraRelocation.Remote.BootstrapStepResult] } | Out-Host
    $boot | Where-Object { $_ -is [InfraRelocation.Receipts.BootstrapReceipt] } | Format-List Outcome, Summary -Force | Out-Host
    Write-DemoCommand '(run it again: every step is found done)'
    Initialize-RelocationVm -Root $remoteRoot -Hostname app-core -Profile demo-v1 -Confirm:$false | Where-Object { $_ -is [InfraRelocation.Receipts.BootstrapReceipt] } |
        Format-List Outcome, Summary -Force | Out-Host

    Write-DemoStep 'Readiness of app-core (profile docker-host-v2 from the manifest)'
    $cfg = Join-Path $remoteRoot 'ops/infra-relocation.yaml'
    (Get-Content -Raw $cfg) -replace '(?ms)^proxmox:.*\z', '' | Set-Content $cfg   # the sample's Proxmox URLs are placeholders
    Write-DemoCommand 'Get-VmReadiness -Root $root -Hostname app-core'
    $ready = Get-VmReadiness -Root $remoteRoot -Hostname app-core
    $ready | Where-Object { $_ -is [InfraRelocation.Remote.ReadinessCheck] } | Out-Host
    $ready | Where-Object { $_ -is [InfraRelocation.Receipts.ReadinessReceipt] } | Format-List Outcome, Summary -Force | Out-Host

    Write-DemoStep 'Hypervisor identity, live over SSH'
    Write-DemoCommand 'Test-HypervisorIdentity -Root $root -Live'
    Test-HypervisorIdentity -Root $remoteRoot -Live | Select-Object -Last 1 | Format-List Capability, Outcome, Summary -Force | Out-Host

    # The sshd stand-ins are not laid out as Proxmox nodes: the rename's read-only survey refuses (the rename itself
    # runs below, on a real Debian machine laid out like a node).
    Write-DemoStep 'Rename a hypervisor: the machine-id is asserted against the pin, then a read-only survey (-WhatIf still probes)'
    Write-DemoCommand 'Set-HypervisorHostname -Root $root -HostId pve-ams1-a -NewName pve-ams1-b -WhatIf   # an sshd stand-in: no /etc/pve/nodes'
    Set-HypervisorHostname -Root $remoteRoot -HostId pve-ams1-a -NewName pve-ams1-b -WhatIf -ErrorVariable renameErr -ErrorAction SilentlyContinue |
        Format-List Outcome, Summary -Force | Out-Host
    $renameErr | ForEach-Object { Write-Host "error $($_.FullyQualifiedErrorId)" }

    # Bootstrap for real: a Debian 12 machine with systemd as PID 1 (systemd-nspawn), when the kernel allows it.
    . (Join-Path $RepoRoot 'tests/Pester/MachineFixture.ps1')
    $machineReason = Test-TestMachineAvailable
    $machines = $null
    if (-not $machineReason) {
        try { $machines = New-TestMachineSet; $debian = $machines.Start('app-core') } catch { $machineReason = "$_" }
    }
    if ($machineReason) {
        Write-DemoStep "Bootstrap on a real Debian 12 machine: skipped ($machineReason)"
    } else {
        Write-DemoStep "Bootstrap on a real Debian 12 machine (systemd-nspawn, booted in $([math]::Round($debian.BootTime.TotalSeconds)) s; sshd on 127.0.0.1:$($debian.Port)): cron from Debian's registry, its unit, a cron hook"
        try {
            Add-Content -Path (Join-Path $remoteRoot 'ops/bindings/infra.vm.profiles.yaml') -Value @(
                '', '  debian-demo-v1:', '    description: "demo: cron from Debian''s registry, its unit and a cron hook"', '    bootstrap:',
                '      package_manager: "apt"', '      packages: [cron]', '      services_enable: [cron]', '      require_docker_running: false',
                '      require_qemu_agent_running: false', '      require_tailscale_connected: true', '      cron_hooks:',
                '        - { name: "heartbeat", schedule: "*/5 * * * *", command: "/bin/true", required: true }')
            Set-TestSshTargets -Root $remoteRoot -Default (ConvertTo-TestSshServer $debian -UserKeyPath $machines.UserKeyPath) -Map $map
            Write-DemoCommand 'Initialize-RelocationVm -Root $root -Hostname app-core -Profile debian-demo-v1 -Confirm:$false'
            $boot = Initialize-RelocationVm -Root $remoteRoot -Hostname app-core -Profile debian-demo-v1 -Confirm:$false
            $boot | Where-Object { $_ -is [InfraRelocation.Remote.BootstrapStepResult] } | Format-Table Order, Step, State, Evidence -Wrap -Force | Out-Host
            $boot | Where-Object { $_ -is [InfraRelocation.Receipts.BootstrapReceipt] } | Format-List Outcome, Summary -Force | Out-Host
            Write-DemoCommand "(on the machine) dpkg-query -W cron; systemctl is-active cron; crontab -l"
            $debian.Run("dpkg-query -W cron; systemctl is-active cron; crontab -l").Stdout | Out-Host
            Write-DemoCommand '(run it again: every step is found done)'
            Initialize-RelocationVm -Root $remoteRoot -Hostname app-core -Profile debian-demo-v1 -Confirm:$false | Where-Object { $_ -is [InfraRelocation.Receipts.BootstrapReceipt] } |
                Format-List Outcome, Summary -Force | Out-Host
            Write-DemoCommand 'Get-VmReadiness -Root $root -Hostname app-core -Profile debian-demo-v1'
            Get-VmReadiness -Root $remoteRoot -Hostname app-core -Profile debian-demo-v1 | Where-Object { $_ -is [InfraRelocation.Remote.ReadinessCheck] } | Out-Host

            Write-DemoStep 'Rename a standalone Proxmox node (Proxmox''s documented procedure) on the Debian machine laid out like one: no pmxcfs, no pvecm'
            $debian.Run("mkdir -p /etc/pve/nodes/app-core && echo '{}' > /etc/pve/nodes/app-core/lrm_status && " +
                "printf '127.0.0.1 localhost\n10.0.0.9 app-core.int.example.net app-core\n' > /etc/hosts").ExitCode | Out-Null
            $policy = Join-Path $remoteRoot 'ops/bindings/infra.placement.policy.yaml'
            (Get-Content -Raw $policy) -replace $pins['pve-ams1-a'], $debian.MachineId | Set-Content -NoNewline $policy
            $asNode = ConvertTo-TestSshServer $debian -UserKeyPath $machines.UserKeyPath
            $nodeMap = @{} + $map
            $nodeMap['pve-ams1-a'] = $asNode
            Set-TestSshTargets -Root $remoteRoot -Default $asNode -Map $nodeMap
            Write-DemoCommand '(Set-HypervisorHostname -Root $root -HostId pve-ams1-a -WhatIf).Files'
            (Set-HypervisorHostname -Root $remoteRoot -HostId pve-ams1-a -WhatIf).Files | Out-Host
            Write-DemoCommand 'Set-HypervisorHostname -Root $root -HostId pve-ams1-a -Confirm:$false'
            $renamed = Set-HypervisorHostname -Root $remoteRoot -HostId pve-ams1-a -Confirm:$false
            $renamed.Steps | Format-Table Step, State, Evidence -Wrap -Force | Out-Host
            $renamed | Format-List Outcome, Summary, Files -Force | Out-Host
            Write-DemoCommand '(on the machine) cat /etc/hostname /etc/hosts; ls /etc/pve/nodes'
            $debian.Run('cat /etc/hostname /etc/hosts; ls /etc/pve/nodes').Stdout | Out-Host
        } finally { $machines.Dispose() }
    }
}
finally {
    if ($servers) { $servers | Stop-TestSshServer }
    if ($http) { $http.Dispose() }
    Remove-Item -Recurse -Force $remoteRoot -ErrorAction SilentlyContinue
}
