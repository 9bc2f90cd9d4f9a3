# Bootstrap, readiness and live identity against real Debian 12 machines (systemd as PID 1 under systemd-nspawn,
# tests/Pester/MachineFixture.ps1): app-core is reached as root, app-web as the passwordless-sudo user ops.
# Skipped, with the reason, when machines cannot run here (no root, no systemd-nspawn/mmdebstrap, kernel refuses).

BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'MachineFixture.ps1')
    $script:skipReason = Test-TestMachineAvailable
    if ($skipReason) { Write-Warning "Machine tests skipped: $skipReason" }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    . (Join-Path $PSScriptRoot 'MachineFixture.ps1')
    . (Join-Path $PSScriptRoot 'RemoteEstate.ps1')
    $script:profileLines = @(
        ''
        '  debian-test-v1:'
        '    description: "test: a real Debian 12 machine: cron from Debian''s registry, its unit, a cron hook"'
        '    bootstrap:'
        '      package_manager: "apt"'
        '      packages: [cron]'
        '      services_enable: [cron]'
        '      require_docker_running: false'
        '      require_qemu_agent_running: false'
        '      require_cron_running: true'
        '      require_tailscale_connected: true'
        '      cron_hooks:'
        '        - { name: "heartbeat", schedule: "*/5 * * * *", command: "/bin/true", required: true }'
        '    readiness:'
        '      require_running: false'
        '      require_ssh_target_binding: true'
        '      require_ssh_reachability: true'
        '      require_tailscale_connected: false'
        '      require_qemu_agent_running: false'
        '      require_cron_running: true'
        '      require_backup_binding: false'
    )
    function Get-Packages($Machine) { $Machine.Run("dpkg-query -W -f='`${Package} `${Version} `${Status}\n' | sort").Stdout }
    function Get-Rows($Out) { @($Out | Where-Object { $_ -is [InfraRelocation.Remote.BootstrapStepResult] }) }
    function Get-Receipt($Out) { $Out | Where-Object { $_ -is [InfraRelocation.Receipts.BootstrapReceipt] } }
}

Describe 'Bootstrap and readiness on real Debian 12 machines' -Skip:([bool]$skipReason) {
    BeforeAll {
        $script:set = New-TestMachineSet
        $script:core = $set.Start('app-core')
        $script:web = $set.Start('app-web')
        $script:root = New-TestEstate -Name machines
        Add-Content -Path (Join-Path $root 'ops/bindings/infra.vm.profiles.yaml') -Value $profileLines
        $asRoot = ConvertTo-TestSshServer $core -User root -UserKeyPath $set.UserKeyPath
        $asOps = ConvertTo-TestSshServer $web -User ops -UserKeyPath $set.UserKeyPath
        Set-TestSshTargets -Root $root -Default $asRoot -Map @{ 'app-web' = $asOps } -ExtraIds 'app-core', 'app-web' `
            -Override @{ 'app-web' = @{ host_key = $web.HostKeyFingerprint } }
    }
    AfterAll {
        if ($script:set) { $set.Dispose() }
    }

    It '-WhatIf shows every command and runs nothing on the machine' {
        $before = Get-Packages $core
        $out = Initialize-RelocationVm -Root $root -Hostname app-core -Profile debian-test-v1 -WhatIf
        (Get-Rows $out).State | Sort-Object -Unique | Should -Be 'Planned'
        ((Get-Rows $out) | Where-Object Step -eq 'package:cron').RunCommand | Should -Match 'apt-get'
        (Get-Receipt $out).Outcome | Should -Be 'Previewed'
        Get-Packages $core | Should -Be $before
        $core.Run('crontab -l').Succeeded | Should -BeFalse -Because 'no crontab was written'
    }

    It 'bootstraps <Name> as <User> for real, and readiness reads the real system' -ForEach @(
        @{ Name = 'app-core'; User = 'root' }
        @{ Name = 'app-web'; User = 'ops' }
    ) {
        $machine = if ($Name -eq 'app-core') { $core } else { $web }
        $out = Initialize-RelocationVm -Root $root -Hostname $Name -Profile debian-test-v1 -Confirm:$false
        $rows = Get-Rows $out
        ($rows | Where-Object State -notin 'Done', 'Unchanged', 'NotApplicable') | Should -BeNullOrEmpty
        ($rows | Where-Object Step -eq 'package:cron').State | Should -Be 'Done'
        ($rows | Where-Object Step -eq 'mesh:tailscale').State | Should -Be 'NotApplicable'
        if ($User -ne 'root') { $rows[0].Step | Should -Be 'access:sudo' }
        (Get-Receipt $out).Outcome | Should -Be 'Succeeded'
        # The machine's own word, through the OpenSSH client.
        $machine.Run("dpkg-query -W -f='`${Status}' cron").Stdout | Should -Be 'install ok installed'
        $machine.Run('systemctl is-enabled cron && systemctl is-active cron').Stdout | Should -Be "enabled`nactive`n"
        $machine.Run('crontab -l').Stdout | Should -Match ([regex]::Escape('*/5 * * * * /bin/true # infra-relocation:debian-test-v1/heartbeat'))

        $ready = Get-VmReadiness -Root $root -Hostname $Name -Profile debian-test-v1
        $checks = $ready | Where-Object { $_ -is [InfraRelocation.Remote.ReadinessCheck] }
        ($checks | Where-Object Check -eq 'ssh_reachability').Status | Should -Be 'Ok'
        ($checks | Where-Object Check -eq 'cron_running').Status | Should -Be 'Ok'
        $machine.Run('systemctl stop cron').Succeeded | Should -BeTrue
        $down = Get-VmReadiness -Root $root -Hostname $Name -Profile debian-test-v1 | Where-Object { $_ -is [InfraRelocation.Remote.ReadinessCheck] }
        ($down | Where-Object Check -eq 'cron_running').Status | Should -Be 'Fail' -Because 'readiness reads the real unit state'

        # The second run restarts the stopped unit (its check failed), then a third changes nothing at all.
        (Get-Rows (Initialize-RelocationVm -Root $root -Hostname $Name -Profile debian-test-v1 -Confirm:$false) | Where-Object Step -eq 'service:cron').State | Should -Be 'Done'
        $again = Initialize-RelocationVm -Root $root -Hostname $Name -Profile debian-test-v1 -Confirm:$false
        (Get-Rows $again | Where-Object Step -ne 'mesh:tailscale').State | Sort-Object -Unique | Should -Be 'Unchanged'
        (Get-Receipt $again).Outcome | Should -Be 'Unchanged'
    }

    It 'a user whose sudo asks for a password gets a clear error at once, and nothing runs' {
        $pw = New-TestEstate -Name machines-askpw
        Add-Content -Path (Join-Path $pw 'ops/bindings/infra.vm.profiles.yaml') -Value $profileLines
        Set-TestSshTargets -Root $pw -Default (ConvertTo-TestSshServer $web -User askpw -UserKeyPath $set.UserKeyPath) -ExtraIds 'app-web'
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $out = Initialize-RelocationVm -Root $pw -Hostname app-web -Profile debian-test-v1 -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable err
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 60
        $rows = Get-Rows $out
        $rows[0].Step | Should -Be 'access:sudo'
        $rows[0].State | Should -Be 'Failed'
        @($rows | Select-Object -Skip 1 | Where-Object State -ne 'Skipped').State | Sort-Object -Unique | Should -Be 'NotRun'
        $err[0].FullyQualifiedErrorId | Should -Match '^BootstrapStepFailed'
        $err[0].Exception.Message | Should -Match 'a password is required'
        $err[0].Exception.Message | Should -Match 'NOPASSWD'
    }

    It 'a package Debian does not have is one clear error on its step; the earlier steps stay recorded' {
        $bad = New-TestEstate -Name machines-bad
        Add-Content -Path (Join-Path $bad 'ops/bindings/infra.vm.profiles.yaml') -Value ($profileLines -replace 'packages: \[cron\]', 'packages: [cron, ir-no-such-package]')
        Set-TestSshTargets -Root $bad -Default (ConvertTo-TestSshServer $core -User root -UserKeyPath $set.UserKeyPath) -ExtraIds 'app-core'
        $out = Initialize-RelocationVm -Root $bad -Hostname app-core -Profile debian-test-v1 -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable err
        $rows = Get-Rows $out
        ($rows | Where-Object Step -eq 'package:cron').State | Should -Be 'Unchanged'
        ($rows | Where-Object Step -eq 'package:ir-no-such-package').State | Should -Be 'Failed'
        ($rows | Where-Object Step -eq 'package:ir-no-such-package').Evidence | Should -Match 'Unable to locate package ir-no-such-package'
        ($rows | Where-Object Step -eq 'service:cron').State | Should -Be 'NotRun'
        @($err).Count | Should -Be 1
        (Get-Receipt $out).Outcome | Should -Be 'Failed'
    }

    It 'preflight reaches the machine and takes the health baseline from its real HTTP service' {
        $pf = New-TestEstate -Name machines-preflight
        Set-TestSshTargets -Root $pf -Default (ConvertTo-TestSshServer $core -User root -UserKeyPath $set.UserKeyPath)
        Set-TestHealthUrls -Root $pf -BaseUrl "http://127.0.0.1:$($core.HealthPort)"
        Set-TestBackupTargets -Root $pf -Folder (Join-Path $pf 'backups')
        # The machine serves each service's health file (busybox httpd, a systemd unit) and holds the backups that
        # preflight verifies over SSH on the backup host (every host id points at this machine).
        $services = [regex]::Matches((Get-Content -Raw (Join-Path $pf 'ops/bindings/infra.relocation.plan.yaml')), '(?m)^\s*-\s*service:\s*"?([A-Za-z0-9._-]+)"?') |
            ForEach-Object { $_.Groups[1].Value }
        $dumps = Get-ChildItem -Recurse -File (Join-Path $pf 'backups') | ForEach-Object FullName
        $setup = "mkdir -p /srv/health/svc && for s in $($services -join ' '); do echo ok > /srv/health/svc/`$s; done; " +
            (($dumps | ForEach-Object { "mkdir -p '$(Split-Path $_)' && echo backup > '$_'" }) -join '; ')
        $core.Run($setup).Succeeded | Should -BeTrue
        $out = Invoke-RelocationPreflight -Root $pf -Timeout 10
        $receipt = $out | Where-Object { $_ -is [InfraRelocation.Receipts.PreflightReceipt] }
        $receipt.HealthBaseline.Count | Should -BeGreaterThan 0
        $receipt.HealthBaseline | ForEach-Object { $_.StatusCode | Should -Be 200 -Because "$($_.Service) is served by the machine at $($_.Url)" }
        ($receipt.Hosts | Where-Object Status -ne 'Ok') | Should -BeNullOrEmpty
        $core.Run('systemctl stop ir-health').Succeeded | Should -BeTrue
        try {
            $down = (Invoke-RelocationPreflight -Root $pf -Timeout 5 | Where-Object { $_ -is [InfraRelocation.Receipts.PreflightReceipt] }).HealthBaseline
            ($down | Where-Object Healthy) | Should -BeNullOrEmpty -Because 'the baseline comes from the real service, now stopped'
        } finally { $core.Run('systemctl start ir-health') | Out-Null }
    }
}

Describe 'Test-HypervisorIdentity -Live on real machines' -Skip:([bool]$skipReason) {
    BeforeAll {
        $script:hset = New-TestMachineSet
        $pins = @{ 'pve-fra1-a' = '3f9c2a1b7d4e4c0a9b8e6f5d4c3b2a19'; 'pve-fra1-b' = 'a0b1c2d3e4f5461788990a1b2c3d4e5f' }
        $script:hvA = $hset.Start('pve-fra1-a', 'pve-fra1-a', $pins['pve-fra1-a'])
        # A clone that kept its source's machine-id: its own hostname, pve-fra1-a's machine-id.
        $script:hvB = $hset.Start('pve-fra1-b', 'pve-fra1-b', $pins['pve-fra1-a'])
        $script:hroot = New-TestEstate -Name machines-identity
        $a = ConvertTo-TestSshServer $hvA -UserKeyPath $hset.UserKeyPath
        Set-TestSshTargets -Root $hroot -Default $a -Map @{ 'pve-fra1-b' = (ConvertTo-TestSshServer $hvB -UserKeyPath $hset.UserKeyPath) } `
            -Override @{ 'pve-ams1-a' = @{ port = [InfraRelocation.TestKit.ServerProcess]::FreeLoopbackPort() } }
    }
    AfterAll { if ($script:hset) { $hset.Dispose() } }

    It 'reads the real hostnames and machine-ids and catches the duplicate machine-id' {
        $hvB.Run('cat /etc/machine-id; hostname').Stdout | Should -Be "3f9c2a1b7d4e4c0a9b8e6f5d4c3b2a19`npve-fra1-b`n"
        $out = Test-HypervisorIdentity -Root $hroot -Live -Timeout 10
        $f = $out | Where-Object { $_ -is [InfraRelocation.RelocationFinding] }
        ($f | Where-Object RuleId -eq 'IDENTITY.DuplicateReportedMachineId') | Should -Not -BeNullOrEmpty
        ($f | Where-Object RuleId -eq 'IDENTITY.MachineIdMismatch').Subject | Should -Contain 'pve-fra1-b'
        ($f | Where-Object { $_.RuleId -like 'IDENTITY.*' -and $_.Subject -eq 'pve-fra1-a' -and $_.RuleId -ne 'IDENTITY.DuplicateReportedMachineId' }) | Should -BeNullOrEmpty
        ($out | Where-Object { $_ -is [InfraRelocation.Receipts.GateReceipt] }).Outcome | Should -Be 'Failed'
    }
}

Describe 'Bad input and interruptions on a real Debian 12 machine' -Skip:([bool]$skipReason) {
    BeforeAll {
        $script:bset = New-TestMachineSet
        $script:box = $bset.Start('app-box')
        $script:broot = New-TestEstate -Name machines-badinput
        # cron and at come from the image's apt cache (no network needed); ir-broken is a unit that always fails.
        function Add-Profile([string]$Name, [string[]]$Packages, [string[]]$Services = @()) {
            Add-Content -Path (Join-Path $broot 'ops/bindings/infra.vm.profiles.yaml') -Value @(
                '', "  ${Name}:", '    description: "test: packages and units on a real Debian 12 machine"', '    bootstrap:',
                '      package_manager: "apt"', "      packages: [$($Packages -join ', ')]", "      services_enable: [$($Services -join ', ')]",
                '      require_docker_running: false', '      require_qemu_agent_running: false', '      require_cron_running: false',
                '      require_tailscale_connected: false')
        }
        Add-Profile -Name test-cron-v1 -Packages cron -Services cron
        Add-Profile -Name test-at-v1 -Packages at -Services atd
        Add-Profile -Name test-broken-v1 -Packages cron -Services cron, ir-broken
        $script:asRootBox = ConvertTo-TestSshServer $box -User root -UserKeyPath $bset.UserKeyPath
        Set-TestSshTargets -Root $broot -Default $asRootBox -ExtraIds 'app-core'
        function Invoke-Boot([string]$Profile, [string]$Root = $broot) {
            Initialize-RelocationVm -Root $Root -Hostname app-core -Profile $Profile -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable script:bootErr
        }
        function Get-Status([string]$Package) { $box.Run("dpkg-query -W -f='`${Status}' $Package 2>/dev/null").Stdout }
    }
    AfterAll { if ($script:bset) { $bset.Dispose() } }

    It 'an unreachable machine is one clear error on the first step; nothing else runs' {
        $root = New-TestEstate -Name machines-unreachable
        Copy-Item (Join-Path $broot 'ops/bindings/infra.vm.profiles.yaml') (Join-Path $root 'ops/bindings/infra.vm.profiles.yaml') -Force
        Set-TestSshTargets -Root $root -Default $asRootBox -ExtraIds 'app-core' -Override @{ 'app-core' = @{ port = [InfraRelocation.TestKit.ServerProcess]::FreeLoopbackPort() } }
        $rows = Get-Rows (Invoke-Boot -Profile test-at-v1 -Root $root)
        $rows[0].State | Should -Be 'Failed'
        $rows[0].Evidence | Should -Match 'SshConnectFailed'
        @($rows | Select-Object -Skip 1).State | Sort-Object -Unique | Should -Be 'NotRun'
        @($bootErr).Count | Should -Be 1
        $bootErr[0].FullyQualifiedErrorId | Should -Match '^BootstrapStepFailed'
    }

    It 'a wrong host key is one clear error and no command runs on the machine' {
        $root = New-TestEstate -Name machines-hostkey
        Copy-Item (Join-Path $broot 'ops/bindings/infra.vm.profiles.yaml') (Join-Path $root 'ops/bindings/infra.vm.profiles.yaml') -Force
        Set-TestSshTargets -Root $root -Default $asRootBox -ExtraIds 'app-core' -Override @{ 'app-core' = @{ host_key = 'SHA256:' + ('A' * 43) } }
        $before = Get-Status at
        $rows = Get-Rows (Invoke-Boot -Profile test-at-v1 -Root $root)
        $rows[0].State | Should -Be 'Failed'
        $rows[0].Evidence | Should -Match 'HostKey'
        @($rows | Select-Object -Skip 1).State | Sort-Object -Unique | Should -Be 'NotRun'
        @($bootErr).Count | Should -Be 1
        Get-Status at | Should -Be $before
    }

    It 'a unit that fails to start is one clear error on its step; the package before it stays recorded; the next run resumes' {
        $out = Invoke-Boot -Profile test-broken-v1
        $rows = Get-Rows $out
        ($rows | Where-Object Step -eq 'package:cron').State | Should -BeIn 'Done', 'Unchanged'
        ($rows | Where-Object Step -eq 'service:cron').State | Should -BeIn 'Done', 'Unchanged'
        ($rows | Where-Object Step -eq 'service:ir-broken').State | Should -Be 'Failed'
        ($rows | Where-Object Step -eq 'service:ir-broken').Evidence | Should -Match 'ir-broken'
        @($bootErr).Count | Should -Be 1
        (Get-Receipt $out).Outcome | Should -Be 'Failed'
        $box.Run('systemctl is-active cron').Stdout | Should -Be "active`n" -Because 'the steps before the failure stay done'
        # The next run resumes: what was done is Unchanged, the broken unit fails again on its own step.
        $again = Get-Rows (Invoke-Boot -Profile test-broken-v1)
        ($again | Where-Object Step -eq 'package:cron').State | Should -Be 'Unchanged'
        ($again | Where-Object Step -eq 'service:cron').State | Should -Be 'Unchanged'
        ($again | Where-Object Step -eq 'service:ir-broken').State | Should -Be 'Failed'
    }

    It 'a full disk during apt is one clear error on the package step; the next run resumes' {
        # A one-page (4 KiB) tmpfs over apt's archive folder: apt cannot fetch or stage the package there.
        $box.Run('mount -t tmpfs -o size=4k tmpfs /var/cache/apt/archives && mkdir -p /var/cache/apt/archives/partial').Succeeded | Should -BeTrue
        try {
            $out = Invoke-Boot -Profile test-at-v1
            $rows = Get-Rows $out
            ($rows | Where-Object Step -eq 'package:at').State | Should -Be 'Failed'
            ($rows | Where-Object Step -eq 'package:at').Evidence | Should -Match 'space|No space left'
            ($rows | Where-Object Step -eq 'service:atd').State | Should -Be 'NotRun'
            @($bootErr).Count | Should -Be 1
        } finally { $box.Run('umount /var/cache/apt/archives').Succeeded | Should -BeTrue }
        $again = Invoke-Boot -Profile test-at-v1
        (Get-Rows $again | Where-Object Step -eq 'package:at').State | Should -Be 'Done'
        (Get-Receipt $again).Outcome | Should -Be 'Succeeded'
        Get-Status at | Should -Be 'install ok installed'
    }

    It 'a bootstrap process killed while apt-get install runs in the machine resumes on the next run' {
        $box.Run('apt-get remove -y -q at >/dev/null 2>&1; dpkg --purge at >/dev/null 2>&1; true').Succeeded | Should -BeTrue
        Get-Status at | Should -Not -Be 'install ok installed'
        # apt marks when it is about to run dpkg and then holds for 20 s, so the kill lands while apt-get install runs
        # (however slowly this machine polls); after the kill that apt-get goes on without its SSH session.
        $box.Run("echo 'DPkg::Pre-Invoke { ""touch /run/ir-apt-running; sleep 20""; };' > /etc/apt/apt.conf.d/99ir-test-slow; rm -f /run/ir-apt-running").Succeeded | Should -BeTrue
        $script = "Import-Module '$($BuiltManifest -replace "'", "''")'; Initialize-RelocationVm -Root '$broot' -Hostname app-core -Profile test-at-v1 -Confirm:`$false"
        # The same pwsh as this one (under `dotnet pwsh` the process is dotnet, which takes pwsh.dll first).
        $psi = [Diagnostics.ProcessStartInfo]::new([Environment]::ProcessPath)
        if ([IO.Path]::GetFileNameWithoutExtension([Environment]::ProcessPath) -eq 'dotnet') { $psi.ArgumentList.Add((Join-Path $PSHOME 'pwsh.dll')) }
        foreach ($a in '-NoProfile', '-NonInteractive', '-Command', $script) { $psi.ArgumentList.Add($a) }
        $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true
        $boot = [Diagnostics.Process]::Start($psi)
        try {
            $deadline = [DateTime]::UtcNow.AddMinutes(3)
            while (-not $box.Run('test -f /run/ir-apt-running').Succeeded -and -not $boot.HasExited -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 200 }
            $boot.HasExited | Should -BeFalse -Because "the bootstrap is still inside apt-get install ($(if ($boot.HasExited) { $boot.StandardOutput.ReadToEnd() + $boot.StandardError.ReadToEnd() }))"
            $box.Run('pgrep -x apt-get').Succeeded | Should -BeTrue -Because 'apt-get install runs in the machine'
        } finally { $boot.Kill($true); $boot.WaitForExit() }
        $box.Run('rm -f /etc/apt/apt.conf.d/99ir-test-slow').Succeeded | Should -BeTrue
        Write-Host "after the kill: at is '$(Get-Status at)'; apt processes: $($box.Run('pgrep -a apt-get; pgrep -a dpkg').Stdout)"
        Get-Status at | Should -Not -Be 'install ok installed' -Because 'the run was cut off before the package was installed'

        $again = Invoke-Boot -Profile test-at-v1
        @($bootErr).Count | Should -Be 0
        (Get-Rows $again | Where-Object Step -eq 'package:at').State | Should -BeIn 'Done', 'Unchanged'
        (Get-Receipt $again).Outcome | Should -BeIn 'Succeeded', 'Unchanged'
        Get-Status at | Should -Be 'install ok installed'
        $box.Run('systemctl is-active atd').Stdout | Should -Be "active`n"
        $box.Run('dpkg --audit').Stdout | Should -BeNullOrEmpty -Because 'nothing is left half-installed'
    }
}
