# Preflight, bootstrap, readiness, hostname change and live identity against real OpenSSH servers on 127.0.0.1
# (tests/Pester/SshFixture.ps1) and HTTP health responders on loopback (HttpFixture.ps1). Skipped, with the reason,
# only when sshd cannot run here. Hostname and machine-id scenarios also need the fixture's private namespaces
# (root + unshare); they never touch this machine's hostname or /etc files.

BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'common.ps1')
    . (Join-Path $PSScriptRoot 'SshFixture.ps1')
    $script:skipReason = Test-TestSshServerAvailable
    if (-not $skipReason) {
        try { $probe = Start-TestSshServer -Name probe; Stop-TestSshServer $probe } catch { $script:skipReason = "$_" }
    }
    $script:noIsolation = if ($skipReason) { $true } else { -not (Test-TestSshIsolation) }
    if ($skipReason) { Write-Warning "Remote tests skipped: $skipReason" }
    elseif ($noIsolation) { Write-Warning 'Hostname/identity scenarios skipped: sshd runs without private UTS/mount namespaces (needs root and unshare).' }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    . (Join-Path $PSScriptRoot 'SshFixture.ps1')
    . (Join-Path $PSScriptRoot 'HttpFixture.ps1')
    . (Join-Path $PSScriptRoot 'RemoteEstate.ps1')
    $script:pins = @{
        'pve-fra1-a' = '3f9c2a1b7d4e4c0a9b8e6f5d4c3b2a19'
        'pve-fra1-b' = 'a0b1c2d3e4f5461788990a1b2c3d4e5f'
        'pve-ams1-a' = '5e6f708192a34b5c8d9e0f1a2b3c4d5e'
    }
    function New-RemoteEstate([string]$Name, [hashtable]$Map = @{}, [hashtable]$Override = @{}, [hashtable]$Health = @{}, [string[]]$StaleBackups = @()) {
        $root = New-TestEstate -Name $Name
        $all = @{} + $script:hvMap
        foreach ($k in $Map.Keys) { $all[$k] = $Map[$k] }
        Set-TestSshTargets -Root $root -Default $script:vm -Map $all -Override $Override
        Set-TestHealthUrls -Root $root -BaseUrl "http://127.0.0.1:$($script:http.Port)" -Override $Health
        Set-TestBackupTargets -Root $root -Folder (Join-Path $root 'backups') -Stale $StaleBackups
        $root
    }
}

Describe 'Remote operations against real sshd' -Skip:([bool]$skipReason) {
    BeforeAll {
        $script:http = Start-TestHttpServer
        $script:vm = Start-TestSshServer -Name vms -Hostname app-core
        $script:hvMap = @{}
        foreach ($id in $pins.Keys) { $script:hvMap[$id] = Start-TestSshServer -Name $id -Hostname $id -MachineId $pins[$id] }
        $script:isolated = $vm.IsolatesIdentity
        $script:realHostname = [System.Net.Dns]::GetHostName()
        $script:realHostnameFile = if (Test-Path /etc/hostname) { Get-Content -Raw /etc/hostname } else { $null }
    }
    AfterAll {
        Get-TestSshServer | Stop-TestSshServer
        if ($script:http) { $script:http.Dispose() }
        # Never the real machine: its hostname and /etc/hostname are as they were.
        [System.Net.Dns]::GetHostName() | Should -Be $script:realHostname
        if ($null -ne $script:realHostnameFile) { Get-Content -Raw /etc/hostname | Should -Be $script:realHostnameFile }
    }

    Context 'Invoke-RelocationPreflight' {
        It 'passes when every host, health endpoint and backup is fine' -Skip:$noIsolation {
            $root = New-RemoteEstate -Name pf-ok
            $out = Invoke-RelocationPreflight -Root $root -Timeout 20
            $r = $out | Where-Object { $_ -is [InfraRelocation.Receipts.PreflightReceipt] }
            $errors = $out | Where-Object { $_ -is [InfraRelocation.RelocationFinding] -and $_.Severity -eq 'Error' }
            $errors | ForEach-Object { "$($_.RuleId): $($_.Message)" } | Should -BeNullOrEmpty
            $r.Outcome | Should -Be 'Passed'
            $r.Hosts | Where-Object Status -ne 'Ok' | Should -BeNullOrEmpty
            ($r.Hosts | Where-Object HostId -eq 'pve-fra1-a').Evidence | Should -Match 'hostname pve-fra1-a'
            $r.HealthBaseline.Count | Should -BeGreaterThan 5
            $r.HealthBaseline | ForEach-Object { $_.StatusCode | Should -Be 200; $_.Healthy | Should -BeTrue; $_.LatencyMs | Should -BeOfType [double]; $_.LatencyMs | Should -BeGreaterOrEqual 0 }
            $r.BackupVerification | ForEach-Object { $_.Verified | Should -BeTrue -Because $_.Evidence }
            # The ledger holds it with the contract's property names (read by the cutover guard).
            $line = Get-Content (Join-Path $root 'receipts/ledger.jsonl') | Select-Object -Last 1 | ConvertFrom-Json
            $line.receipt.Capability | Should -Be 'infra.relocation.preflight'
            $line.receipt.Outcome | Should -Be 'Passed'
            $line.receipt.ChangeId | Should -Be 'CHG-2026-1118-SPLIT-LEGACY'
            $line.receipt.HealthBaseline[0].PSObject.Properties.Name | Should -Contain 'LatencyMs'
            $line.receipt.BackupVerification[0].PSObject.Properties.Name | Should -Contain 'Evidence'
        }

        Context 'failures' {
            BeforeAll {
                $badKey = Join-Path $TestDrive 'not_authorised'
                & ssh-keygen -q -t ed25519 -N '' -C ir-test -f $badKey | Out-Null
                $closed = Get-TestSshFreePort
                $root = New-RemoteEstate -Name pf-bad -StaleBackups 'grafana' -Override @{
                    'app-core'   = @{ port = $closed }                                                   # nothing listens
                    'mon-core'   = @{ host_key = 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }   # wrong pinned host key
                    'app-web'    = @{ identity_file = $badKey }                                          # key not authorised
                } -Health @{ wiki = "http://127.0.0.1:$($http.Port)/status/503"; pastebin = "http://127.0.0.1:$closed/health" }
                $script:out = Invoke-RelocationPreflight -Root $root -Timeout 20   # generous: a loaded machine once missed 3 s; the failures here come fast
                $script:receipt = $out | Where-Object { $_ -is [InfraRelocation.Receipts.PreflightReceipt] }
                $script:findings = $out | Where-Object { $_ -is [InfraRelocation.RelocationFinding] }
            }
            It 'fails the receipt' {
                $receipt.Outcome | Should -Be 'Failed'
            }
            It 'reports an unreachable required host as an error' {
                $f = $findings | Where-Object { $_.RuleId -eq 'PREFLIGHT.HostUnreachable' -and $_.Subject -eq 'app-core' }
                $f.Severity | Should -Be 'Error'
                ($receipt.Hosts | Where-Object HostId -eq 'app-core').Evidence | Should -Match 'SshConnectFailed'
            }
            It 'refuses a host whose key differs from the pinned one' {
                $row = $receipt.Hosts | Where-Object HostId -eq 'mon-core'
                $row.Status | Should -Be 'Fail'
                $row.Evidence | Should -Match 'HostKey'
            }
            It 'reports a user key the host does not accept' {
                ($receipt.Hosts | Where-Object HostId -eq 'app-web').Evidence | Should -Match 'SshAuthenticationFailed'
            }
            It 'records unhealthy endpoints in the baseline and as errors for shadow services' {
                $wiki = $receipt.HealthBaseline | Where-Object Service -eq 'wiki'
                $wiki.StatusCode | Should -Be 503
                $wiki.Healthy | Should -BeFalse
                ($receipt.HealthBaseline | Where-Object Service -eq 'pastebin').StatusCode | Should -BeNullOrEmpty
                ($findings | Where-Object { $_.RuleId -eq 'PREFLIGHT.Unhealthy' -and $_.Subject -eq 'wiki' }).Severity | Should -Be 'Error'
            }
            It 'does not verify a backup without a fresh file' {
                $g = $receipt.BackupVerification | Where-Object Service -eq 'grafana'
                $g.Verified | Should -BeFalse
                $g.Evidence | Should -Match 'no file newer than 26 h'
                ($receipt.BackupVerification | Where-Object Service -eq 'prometheus').Verified | Should -BeTrue
            }
        }
    }

    Context 'Initialize-RelocationVm' {
        BeforeAll {
            $script:root = New-RemoteEstate -Name boot
            $script:work = Join-Path $root 'vm-files'
            New-Item -ItemType Directory -Path $work | Out-Null
            $q = { param($p) "'" + $p + "'" }
            Add-TestStepProfile -Root $root -Name test-boot-v1 -Description 'test: marker-file steps on the sshd host' `
                -BootstrapLines @('cron_hooks:', '  - { name: "optional-hook", schedule: "5 * * * *", command: "/bin/true", required: false }') `
                -Steps @(
                    @{ name = 'one'; check = "test -f $(& $q "$work/one")"; run = "touch $(& $q "$work/one")" }
                    @{ name = 'two'; check = "test -f $(& $q "$work/two")"; run = "touch $(& $q "$work/two-started") && sleep 3 && touch $(& $q "$work/two")" }
                    @{ name = 'three'; check = "test -f $(& $q "$work/three")"; run = "touch $(& $q "$work/three")" })
            Add-TestStepProfile -Root $root -Name test-slow-v1 -Description 'test: a step that outlives the command timeout' -Steps @(
                @{ name = 'slow'; check = "test -f $(& $q "$work/slow")"; run = "sleep 30 && touch $(& $q "$work/slow")" })
        }

        It '-WhatIf lists the exact commands and runs nothing on the server' {
            $before = (Get-Content -Raw $vm.LogPath) -split "`n" | Where-Object { $_ -match 'Accepted publickey' } | Measure-Object | ForEach-Object Count
            $out = Initialize-RelocationVm -Root $root -Hostname app-core -Profile test-boot-v1 -WhatIf
            $rows = $out | Where-Object { $_ -is [InfraRelocation.Remote.BootstrapStepResult] }
            ($rows | Where-Object State -eq 'Planned').Step | Should -Be @('step:one', 'step:two', 'step:three')
            ($rows | Where-Object Step -eq 'step:one').RunCommand | Should -Be "touch '$work/one'"
            ($rows | Where-Object Step -eq 'cron:optional-hook').State | Should -Be 'Skipped'
            ($out | Where-Object { $_ -is [InfraRelocation.Receipts.BootstrapReceipt] }).Outcome | Should -Be 'Previewed'
            Test-Path "$work/one" | Should -BeFalse
            $after = (Get-Content -Raw $vm.LogPath) -split "`n" | Where-Object { $_ -match 'Accepted publickey' } | Measure-Object | ForEach-Object Count
            $after | Should -Be $before -Because 'a preview opens no SSH session'
        }

        It 'binds VM targets from the pipeline and plans the manifest''s profile (apt, services, mesh, cron) under -WhatIf' {
            $out = [pscustomobject]@{ Hostname = 'app-core'; Profile = $null } | Initialize-RelocationVm -Root $root -WhatIf
            $rows = $out | Where-Object { $_ -is [InfraRelocation.Remote.BootstrapStepResult] }
            ($out | Where-Object { $_ -is [InfraRelocation.Receipts.BootstrapReceipt] }).Profile | Should -Be 'docker-host-v2'
            $rows.Step | Should -Contain 'repo:docker'
            $rows.Step | Should -Contain 'package:tailscale'
            $rows.Step | Should -Contain 'service:cron'
            ($rows | Where-Object Step -eq 'mesh:tailscale').RunCommand | Should -BeLike '*--auth-key=file:/dev/stdin *'
            ($rows | Where-Object Step -eq 'cron:docker-prune').CheckCommand | Should -Match '# infra-relocation:docker-host-v2/docker-prune'
            ($rows | Where-Object Step -eq 'cron:hourly-heartbeat').State | Should -Be 'Skipped'
        }

        It 'binds piped hostnames (plain strings) like New-ProxmoxVm and Get-VmReadiness, one receipt per VM' {
            $out = 'app-core', 'app-core' | Initialize-RelocationVm -Root $root -WhatIf
            $receipts = @($out | Where-Object { $_ -is [InfraRelocation.Receipts.BootstrapReceipt] })
            $receipts.Count | Should -Be 2
            $receipts.Hostname | Should -Be @('app-core', 'app-core')
            $receipts.Outcome | Should -Be @('Previewed', 'Previewed')
        }

        It 'resumes after the connection drops mid-bootstrap' {
            $server = $vm
            # Dropped while step two runs: the killer waits for the step to start (no guess at how long the run takes to get there).
            $started = "$work/two-started"
            $killer = Start-ThreadJob -ScriptBlock {
                $deadline = [DateTime]::UtcNow.AddMinutes(2)
                while (-not (Test-Path $using:started) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
                ($using:server).Process.Kill($true)
            }
            $out = Initialize-RelocationVm -Root $root -Hostname app-core -Profile test-boot-v1 -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable err
            $killer | Wait-Job | Remove-Job
            $rows = $out | Where-Object { $_ -is [InfraRelocation.Remote.BootstrapStepResult] }
            ($rows | Where-Object Step -eq 'step:one').State | Should -Be 'Done'
            ($rows | Where-Object Step -eq 'step:two').State | Should -Be 'Failed'
            ($rows | Where-Object Step -eq 'step:two').Evidence | Should -Match 'SshConnectionLost'
            ($rows | Where-Object Step -eq 'step:three').State | Should -Be 'NotRun'
            $err.FullyQualifiedErrorId | Should -Match '^BootstrapStepFailed'
            ($out | Where-Object { $_ -is [InfraRelocation.Receipts.BootstrapReceipt] }).Outcome | Should -Be 'Failed'

            # The host comes back (same port, same host key); a re-run skips what was done.
            Stop-TestSshServer $vm -KeepFiles
            $script:vm = Start-TestSshServer -Name vms -Hostname app-core -Port $server.Port
            $again = Initialize-RelocationVm -Root $root -Hostname app-core -Profile test-boot-v1 -Confirm:$false
            $rows = $again | Where-Object { $_ -is [InfraRelocation.Remote.BootstrapStepResult] }
            ($rows | Where-Object Step -eq 'step:one').State | Should -Be 'Unchanged'
            ($rows | Where-Object Step -eq 'step:two').State | Should -Be 'Done'
            ($rows | Where-Object Step -eq 'step:three').State | Should -Be 'Done'
            Test-Path "$work/three" | Should -BeTrue
            ($again | Where-Object { $_ -is [InfraRelocation.Receipts.BootstrapReceipt] }).Outcome | Should -Be 'Succeeded'
        }

        It 'changes nothing on a third run' {
            $out = Initialize-RelocationVm -Root $root -Hostname app-core -Profile test-boot-v1 -Confirm:$false
            ($out | Where-Object { $_ -is [InfraRelocation.Remote.BootstrapStepResult] -and $_.State -ne 'Skipped' }).State | Sort-Object -Unique | Should -Be 'Unchanged'
            ($out | Where-Object { $_ -is [InfraRelocation.Receipts.BootstrapReceipt] }).Outcome | Should -Be 'Unchanged'
        }

        It 'stops a command that outlives -CommandTimeout' {
            $sw = [Diagnostics.Stopwatch]::StartNew()
            $out = Initialize-RelocationVm -Root $root -Hostname app-core -Profile test-slow-v1 -CommandTimeout 2 -Confirm:$false -ErrorAction SilentlyContinue
            $sw.Elapsed.TotalSeconds | Should -BeLessThan 15
            $row = $out | Where-Object { $_ -is [InfraRelocation.Remote.BootstrapStepResult] -and $_.Step -eq 'step:slow' }
            $row.State | Should -Be 'Failed'
            $row.Evidence | Should -Match 'SshCommandTimeout'
            Start-Sleep -Seconds 1
            Test-Path "$work/slow" | Should -BeFalse
        }
    }

    Context 'Initialize-RelocationVm -ThrottleLimit' {
        BeforeAll {
            $script:troot = New-RemoteEstate -Name boot-throttle
            $script:meet = Join-Path $troot 'meet'
            New-Item -ItemType Directory -Path $meet | Out-Null
            # A barrier: each VM's step arrives, then waits (3 s at most) until two VMs have arrived. It passes only
            # when both bootstraps run at the same time. Each VM is told apart by its connection's client port.
            $port = 'p=$(echo "$SSH_CONNECTION" | cut -d" " -f2); '
            $m = "'$meet'"
            Add-TestStepProfile -Root $troot -Name test-meet-v1 -Description 'test: a step that waits for the other VM' -Steps @(
                @{ name = 'meet'; check = $port + "test -f $m/done-`$p"
                   run = $port + "touch $m/arrived-`$p; i=0; until [ `$(ls $m | grep -c '^arrived-') -ge 2 ]; do i=`$((i+1)); [ `$i -lt 30 ] || exit 3; sleep 0.1; done; touch $m/done-`$p" })
        }
        BeforeEach { Get-ChildItem $meet | Remove-Item }

        It 'bootstraps piped VMs together up to -ThrottleLimit (the barrier step passes only when they overlap)' {
            $out = 'app-core', 'app-web' | ForEach-Object { [pscustomobject]@{ Hostname = $_; Profile = 'test-meet-v1' } } |
                Initialize-RelocationVm -Root $troot -ThrottleLimit 2 -Confirm:$false
            $rows = $out | Where-Object { $_ -is [InfraRelocation.Remote.BootstrapStepResult] }
            ($rows | Sort-Object Hostname).Hostname | Should -Be @('app-core', 'app-web')
            $rows.State | Sort-Object -Unique | Should -Be 'Done'
            $receipts = $out | Where-Object { $_ -is [InfraRelocation.Receipts.BootstrapReceipt] }
            $receipts.Hostname | Should -Be @('app-core', 'app-web') -Because 'receipts follow the input order'
            $receipts.Outcome | Sort-Object -Unique | Should -Be 'Succeeded'
        }

        It 'bootstraps one VM at a time by default (the same barrier then fails on its step, alone)' {
            $out = 'app-core', 'app-web' | ForEach-Object { [pscustomobject]@{ Hostname = $_; Profile = 'test-meet-v1' } } |
                Initialize-RelocationVm -Root $troot -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable err
            $rows = $out | Where-Object { $_ -is [InfraRelocation.Remote.BootstrapStepResult] }
            ($rows | Where-Object Hostname -eq 'app-core').State | Should -Be 'Failed'
            ($rows | Where-Object Hostname -eq 'app-core').Evidence | Should -Match 'exit 3'
            @($err | Where-Object FullyQualifiedErrorId -like 'BootstrapStepFailed*').Count | Should -BeGreaterOrEqual 1
        }
    }

    Context 'Get-VmReadiness' {
        BeforeAll {
            $script:rroot = New-RemoteEstate -Name ready
            # No proxmox: section in the estate config: vm_running and qemu_agent_running cannot be asked.
            $cfg = Join-Path $rroot 'ops/infra-relocation.yaml'
            (Get-Content -Raw $cfg) -replace '(?ms)^proxmox:.*\z', '' | Set-Content $cfg
        }
        It 'reports each check with evidence, SKIP for what cannot or need not be checked' {
            $out = Get-VmReadiness -Root $rroot -Hostname app-core
            $rows = @{}; $out | Where-Object { $_ -is [InfraRelocation.Remote.ReadinessCheck] } | ForEach-Object { $rows[$_.Check] = $_ }
            $rows.Keys | Sort-Object | Should -Be @('backup_binding', 'cron_running', 'qemu_agent_running', 'ssh_reachability', 'ssh_target_binding', 'tailscale_connected', 'vm_running')
            $rows.vm_running.Status | Should -Be 'Skip'
            $rows.vm_running.Evidence | Should -Be 'no Proxmox connection configured'
            $rows.qemu_agent_running.Status | Should -Be 'Skip'
            $rows.ssh_target_binding.Status | Should -Be 'Ok'
            $rows.ssh_reachability.Status | Should -Be 'Ok'
            $rows.backup_binding.Status | Should -Be 'Ok'
            $rows.backup_binding.Evidence | Should -Match 'vm-210-app-core'
            # No tailscale on the test host: a real FAIL with the evidence.
            if (-not (Get-Command tailscale -ErrorAction Ignore)) { $rows.tailscale_connected.Status | Should -Be 'Fail' }
            ($out | Where-Object { $_ -is [InfraRelocation.Receipts.ReadinessReceipt] }).Profile | Should -Be 'docker-host-v2'
        }
        It 'fails vm_running when Proxmox is configured but no API token is available' {
            $root = New-RemoteEstate -Name ready-pve
            $saved = $env:INFRA_RELOCATION_PVE_TOKEN; $env:INFRA_RELOCATION_PVE_TOKEN = $null
            try { $out = Get-VmReadiness -Root $root -Hostname app-core } finally { $env:INFRA_RELOCATION_PVE_TOKEN = $saved }
            $row = $out | Where-Object Check -eq 'vm_running'
            $row.Status | Should -Be 'Fail'
            $row.Evidence | Should -Match 'token'
        }
        It 'checks several VMs -ThrottleLimit at a time and writes them in input order' {
            $hosts = 'app-core', 'app-web', 'db-main'
            $out = $hosts | Get-VmReadiness -Root $rroot -ThrottleLimit 3
            $receipts = $out | Where-Object { $_ -is [InfraRelocation.Receipts.ReadinessReceipt] }
            $receipts.Hostname | Should -Be $hosts
            $checks = $out | Where-Object { $_ -is [InfraRelocation.Remote.ReadinessCheck] }
            ($checks.Hostname | Select-Object -Unique) | Should -Be $hosts -Because 'each VM''s checks come out together, in input order'
            foreach ($h in $hosts) { ($checks | Where-Object { $_.Hostname -eq $h -and $_.Check -eq 'ssh_reachability' }).Status | Should -Be 'Ok' }
            { Get-VmReadiness -Root $rroot -Hostname app-core -ThrottleLimit 0 } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
        }
        It 'skips a check the profile switches off with false' {
            $out = Get-VmReadiness -Root $rroot -Hostname db-main
            ($out | Where-Object { $_.Check -eq 'cron_running' }).Status | Should -Be 'Skip'
        }
        It 'fails the SSH checks of a VM with no ssh target' {
            (Get-Content -Raw (Join-Path $rroot 'ops/bindings/ssh.targets.yaml')) -replace '(?ms)    - id: "files-core".*?(?=    - id:|\z)', '' |
                Set-Content (Join-Path $rroot 'ops/bindings/ssh.targets.yaml')
            $out = Get-VmReadiness -Root $rroot -Hostname files-core
            ($out | Where-Object Check -eq 'ssh_target_binding').Status | Should -Be 'Fail'
            ($out | Where-Object Check -eq 'ssh_reachability').Evidence | Should -Match 'no ssh.targets entry'
        }
    }

    Context 'Set-HypervisorHostname and Test-HypervisorIdentity -Live' -Skip:$noIsolation {
        BeforeAll {
            $script:renamed = Start-TestSshServer -Name hv-rename -Hostname pve-old -MachineId $pins['pve-fra1-a']
            $script:impostor = Start-TestSshServer -Name hv-impostor -Hostname pve-fra1-b -MachineId ([guid]::NewGuid().ToString('N'))
            $script:hroot = New-RemoteEstate -Name hostname -Map @{ 'pve-fra1-a' = $renamed; 'pve-fra1-b' = $impostor }
        }
        It 'refuses a host not laid out as a Proxmox node (no node directory under /etc/pve/nodes), even under -WhatIf; nothing changed' {
            # The rename itself is tested on a real Debian machine laid out like a node (HypervisorRename.Tests.ps1).
            foreach ($whatIf in $true, $false) {
                $err = $null
                $r = Set-HypervisorHostname -Root $hroot -HostId pve-fra1-a -WhatIf:$whatIf -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
                $err[0].FullyQualifiedErrorId | Should -Be 'HypervisorRenameNotANode,InfraRelocation.Commands.Cmdlets.SetHypervisorHostnameCommand'
                $r.Outcome | Should -Be 'Blocked'
                $r.PreviousName | Should -Be 'pve-old'
                $r.MachineId | Should -Be $pins['pve-fra1-a']
                (Get-Content -Raw $renamed.HostnameFile).Trim() | Should -Be 'pve-old'
            }
        }
        It 'refuses a node name with dots before connecting' {
            { Set-HypervisorHostname -Root $hroot -HostId pve-fra1-a -NewName pve-new.example.net -Confirm:$false -ErrorAction Stop } |
                Should -Throw -ErrorId 'HostnameInvalid,*'
        }
        It 'refuses a host whose machine-id is not the pinned one' {
            { Set-HypervisorHostname -Root $hroot -HostId pve-fra1-b -NewName pve-new -Confirm:$false -ErrorAction Stop } |
                Should -Throw -ErrorId 'HypervisorMachineIdMismatch,InfraRelocation.Commands.Cmdlets.SetHypervisorHostnameCommand'
            (Get-Content -Raw $impostor.HostnameFile).Trim() | Should -Be 'pve-fra1-b'
            $last = Get-Content (Join-Path $hroot 'receipts/ledger.jsonl') | Select-Object -Last 1 | ConvertFrom-Json
            $last.receipt.Outcome | Should -Be 'Blocked'
        }
        It 'Test-HypervisorIdentity -Live catches a duplicate hostname and an unreachable host' {
            $dup = Start-TestSshServer -Name hv-dup -Hostname pve-fra1-a -MachineId $pins['pve-fra1-b']
            $root = New-RemoteEstate -Name live -Map @{ 'pve-fra1-b' = $dup } -Override @{ 'pve-ams1-a' = @{ port = (Get-TestSshFreePort) } }
            $out = Test-HypervisorIdentity -Root $root -Live -Timeout 20
            $f = $out | Where-Object { $_ -is [InfraRelocation.RelocationFinding] }
            ($f | Where-Object RuleId -eq 'IDENTITY.DuplicateReportedHostname').Subject | Should -Be 'pve-fra1-b'
            ($f | Where-Object RuleId -eq 'IDENTITY.ProbeFailed').Subject | Should -Be 'pve-ams1-a'
            ($out | Where-Object { $_ -is [InfraRelocation.Receipts.GateReceipt] }).Outcome | Should -Be 'Failed'
        }
        It 'Test-HypervisorIdentity -Live passes on the real identities' {
            $root = New-RemoteEstate -Name live-ok
            $out = Test-HypervisorIdentity -Root $root -Live
            ($out | Where-Object { $_ -is [InfraRelocation.Receipts.GateReceipt] }).Outcome | Should -Be 'Passed'
        }
    }
}
