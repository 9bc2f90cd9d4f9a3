# Invoke-RelocationRollback: the protocol's rollback procedure executed. Bad input on copies of the sample estate
# (nothing runs, nothing is written), then real rollbacks on real Debian 12 machines (MachineFixture.ps1): a small
# HTTP service (busybox httpd as a systemd unit) moves from legacy-docker to app-core, passes its health-gated
# promotion there, and is rolled back: the old host serves it again, the new host's unit is stopped, every SSOT is
# byte-identical to before the move, the gates pass and the incident record exists. Also a restore that fails (stops
# there, SSOTs untouched, the next run resumes), and a run killed in the middle of a step and resumed.

BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'MachineFixture.ps1')
    $script:skipReason = Test-TestMachineAvailable
    if ($skipReason) { Write-Warning "Machine tests skipped: $skipReason" }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    . (Join-Path $PSScriptRoot 'MachineFixture.ps1')
    . (Join-Path $PSScriptRoot 'RemoteEstate.ps1')
    $script:Manifest = 'ops/bindings/infra.relocation.plan.yaml'
    $script:Registry = 'ops/governance/SERVICE_REGISTRY.yaml'
    $script:Ns = 'InfraRelocation.Commands.Commands'
    $script:WarningPreference = 'SilentlyContinue'

    function Edit-EstateFile([string] $Root, [string] $Relative, [string] $Pattern, [string] $Replacement) {
        $path = Join-Path $Root $Relative
        $text = [IO.File]::ReadAllText($path)
        $new = [regex]::Replace($text, $Pattern, $Replacement, [Text.RegularExpressions.RegexOptions]::Multiline)
        if ($new -eq $text) { throw "pattern '$Pattern' not found in $Relative" }
        [IO.File]::WriteAllText($path, $new)
    }

    # Every estate file's bytes (hex), by path: the SSOTs the rollback must restore byte for byte.
    function Get-Snapshot([string] $Root) {
        $files = [ordered]@{}
        foreach ($f in Get-ChildItem -Recurse -File (Join-Path $Root 'ops') | Sort-Object FullName) {
            # Every change writes the ledger's head into the manifest's ledger_anchor line (the rollback's own too): left out.
            $text = [Text.Encoding]::UTF8.GetString([IO.File]::ReadAllBytes($f.FullName)) -replace '(?m)^ledger_anchor:.*\n', ''
            $files[[IO.Path]::GetRelativePath($Root, $f.FullName)] = [Convert]::ToHexString([Text.Encoding]::UTF8.GetBytes($text))
        }
        $files
    }

    function Compare-Snapshot($Before, $After) {
        @($Before.Keys + $After.Keys | Select-Object -Unique | Where-Object { $Before[$_] -ne $After[$_] })
    }

    # The estate of a bookmarks move legacy-docker -> app-core, before the move: the relocation in cutover, the service
    # registry says how to run the service (its unit) and how to verify and restore its backup.
    function New-RollbackEstate([string] $HealthUrl = 'http://127.0.0.1:9/health') {
        $root = New-TestEstate -Name rollback
        Edit-EstateFile $root $Manifest '^  state: "preflight"' '  state: "cutover"'
        Edit-EstateFile $root $Manifest '^  approved_by: null' '  approved_by: "cab-chair"'
        Edit-EstateFile $root $Manifest '"http://192\.0\.2\.110:8085/health"' "`"$HealthUrl`""
        Edit-EstateFile $root $Registry '^(    compose: /opt/stacks/bookmarks/docker-compose.yml\n)' (
            "`$1    unit: ir-bookmarks.service`n    commands:`n" +
            "      verify_backup: `"tar -tf /var/backups/bookmarks.tar >/dev/null`"`n" +
            "      restore: `"sh /usr/local/sbin/restore-bookmarks`"`n")
        $root
    }

    # The move itself, as an operator does it: the SSOTs that name the new host (stack registry, health binding), then
    # the recorded transition (the service registry follows in the same transaction).
    function Invoke-Move([string] $Root) {
        Set-TestSsotReady $Root 'bookmarks'
        $r = Set-RelocationServiceStatus -Root $Root -Service bookmarks -Status cutover -Confirm:$false
        $r.Outcome | Should -Be 'Succeeded'
    }
}

Describe 'Invoke-RelocationRollback: bad input changes nothing' {
    BeforeAll {
        $script:root = New-RollbackEstate
        # SSH targets that answer nowhere (a closed loopback port): reaching a host fails at once.
        $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
        $listener.Start(); $closed = $listener.LocalEndpoint.Port; $listener.Stop()
        $dead = [pscustomobject]@{ Host = '127.0.0.1'; Port = $closed; User = 'root'; UserKeyPath = (Join-Path $root 'no-key'); KnownHostsLine = "[127.0.0.1]:$closed ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl" }
        Set-TestSshTargets -Root $root -Default $dead
        Invoke-Move $root
    }

    It 'a service that has not moved is refused' {
        { Invoke-RelocationRollback -Root $root -Service rss-reader -Reason test -Confirm:$false } |
            Should -Throw -ErrorId "RollbackNothingMoved,$Ns.InvokeRelocationRollbackCommand"
    }

    It 'a missing rollback_to is one clear error; nothing is written, no journal' {
        $copy = Join-Path $TestDrive "norollback-$([guid]::NewGuid().ToString('n').Substring(0, 6))"
        Copy-Item $root $copy -Recurse
        Edit-EstateFile $copy $Manifest '(- service: "bookmarks"(?:\n(?!  - ).*)*?\n    rollback_to: )"legacy-docker"' '$1null'
        $before = Get-Snapshot $copy
        $err = { Invoke-RelocationRollback -Root $copy -Service bookmarks -Reason test -Confirm:$false } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -Be "RollbackTargetMissing,$Ns.InvokeRelocationRollbackCommand"
        $err.Exception.Message | Should -Match 'has no rollback_to at ops/bindings/infra\.relocation\.plan\.yaml:\d+:\d+'
        Compare-Snapshot $before (Get-Snapshot $copy) | Should -BeNullOrEmpty
        Test-Path (Join-Path $copy '.infra-relocation/rollback') | Should -BeFalse
    }

    It '-WhatIf prints every remote command and the file diff, and sends and writes nothing' {
        $before = Get-Snapshot $root
        # The host's "What if:" text, as a user sees it (a fresh pwsh, its console output).
        $exe = [Environment]::ProcessPath
        [string[]] $prefix = if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' } else { @() }
        $printed = & $exe @prefix -NoProfile -NonInteractive -Command "`$env:NO_COLOR = 1; Import-Module '$BuiltManifest'; Invoke-RelocationRollback -Root '$root' -Service bookmarks -Reason test -WhatIf | Out-Null" 2>&1 | Out-String
        $printed | Should -Match "What if:"
        $printed | Should -Match 'stop on app-core: check `! \{ systemctl is-active --quiet .ir-bookmarks\.service.; \}`; if not done run `systemctl stop .ir-bookmarks\.service.`'
        $printed | Should -Match 'start on legacy-docker: .*run `systemctl start .ir-bookmarks\.service.`'
        $printed | Should -Match 'restore on legacy-docker: run `.*sh /usr/local/sbin/restore-bookmarks`'
        $printed | Should -Match '(?m)^-    host: app-core\s*$'
        $printed | Should -Match '(?m)^\+    host: legacy-docker\s*$'

        $out = Invoke-RelocationRollback -Root $root -Service bookmarks -Reason test -WhatIf
        $rows = @($out | Where-Object { $_ -is [InfraRelocation.Receipts.RollbackStepRecord] })
        $rows.State | Sort-Object -Unique | Should -Be 'Planned'
        $receipt = $out | Where-Object { $_ -is [InfraRelocation.Receipts.RollbackReceipt] }
        $receipt.Outcome | Should -Be 'Previewed'
        $receipt.Diff | Should -Match '(?m)^-    status: "cutover"\n\+    status: "planned"'
        Compare-Snapshot $before (Get-Snapshot $root) | Should -BeNullOrEmpty
        Test-Path (Join-Path $root '.infra-relocation/rollback') | Should -BeFalse
    }

    It '-Phase rolls back every moved service of the phase; one moved by hand (no receipts) is refused before anything runs' {
        $before = Get-Snapshot $root
        $err = { Invoke-RelocationRollback -Root $root -Phase 1 -Reason test -WhatIf } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -Be "RollbackMoveNotRecorded,$Ns.InvokeRelocationRollbackCommand"
        $err.Exception.Message | Should -Match "no committed transition of 'wiki'"
        Compare-Snapshot $before (Get-Snapshot $root) | Should -BeNullOrEmpty
    }

    It 'an unreachable rollback host stops the rollback at its first step; nothing later runs, the next run resumes there' {
        $before = Get-Snapshot $root
        $out = Invoke-RelocationRollback -Root $root -Service bookmarks -Reason test -RoutingConfirmed -Confirm:$false -Timeout 2 -ErrorAction SilentlyContinue -ErrorVariable err
        @($err) | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -Be "RollbackStepFailed,$Ns.InvokeRelocationRollbackCommand"
        $err[0].Exception.Message | Should -Match 'stopped at step 1 \(reach on legacy-docker\).*cannot be reached, so the service was not stopped anywhere'
        $rows = @($out | Where-Object { $_ -is [InfraRelocation.Receipts.RollbackStepRecord] })
        $rows | Should -HaveCount 1 -Because 'only the step that failed ran'
        $receipt = $out | Where-Object { $_ -is [InfraRelocation.Receipts.RollbackReceipt] }
        $receipt.Outcome | Should -Be 'Failed'
        ($receipt.Steps | Where-Object Step -ne 'reach').State | Sort-Object -Unique | Should -Be 'Planned'
        Compare-Snapshot $before (Get-Snapshot $root) | Should -BeNullOrEmpty -Because 'no SSOT is written before the remote steps'
        Test-Path (Join-Path $root '.infra-relocation/rollback/bookmarks.json') | Should -BeTrue
        $again = Invoke-RelocationRollback -Root $root -Service bookmarks -Reason test -Confirm:$false -Timeout 2 -ErrorAction SilentlyContinue -ErrorVariable err2 -WarningVariable warn -WarningAction SilentlyContinue
        $warn | Should -Match 'Resuming the rollback of bookmarks'
        $err2[0].Exception.Message | Should -Match 'stopped at step 1 \(reach'
    }
}

Describe 'Invoke-RelocationRollback on real Debian 12 machines' -Skip:([bool]$skipReason) {
    BeforeAll {
        $script:set = New-TestMachineSet
        $script:legacy = $set.Start('legacy-docker')
        $script:core = $set.Start('app-core')
        function Get-FreePort { $l = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0); $l.Start(); $p = $l.LocalEndpoint.Port; $l.Stop(); $p }
        $script:ports = @{ 'legacy-docker' = (Get-FreePort); 'app-core' = (Get-FreePort) }

        # The service on both machines: busybox httpd (in the image) as a systemd unit, on the machine's own port;
        # legacy-docker runs it and holds its backup, and a restore script that installs the backup.
        foreach ($m in $legacy, $core) {
            $port = $ports[$m.Name]
            $install = @"
mkdir -p /srv/bookmarks && printf 'bookmarks on $($m.Name)\n' > /srv/bookmarks/health &&
printf '[Unit]\nDescription=bookmarks (test service)\n[Service]\nExecStart=/bin/busybox httpd -f -p 127.0.0.1:$port -h /srv/bookmarks\n[Install]\nWantedBy=multi-user.target\n' > /etc/systemd/system/ir-bookmarks.service &&
systemctl daemon-reload
"@
            $m.Run($install).Succeeded | Should -BeTrue
        }
        $legacy.Run('systemctl start ir-bookmarks && mkdir -p /tmp/b/srv/bookmarks && printf ''bookmarks restored from backup\n'' > /tmp/b/srv/bookmarks/health && tar -cf /var/backups/bookmarks.tar -C /tmp/b srv').Succeeded | Should -BeTrue
        function Set-RestoreScript([string] $Body) { $legacy.Run("printf '%s\n' '$Body' > /usr/local/sbin/restore-bookmarks").Succeeded | Should -BeTrue }

        function Get-Http([int] $Port) {
            # busybox httpd sends no content type, so read the body as text.
            $client = [Net.Http.HttpClient]::new(); $client.Timeout = [TimeSpan]::FromSeconds(5)
            try { $client.GetStringAsync("http://127.0.0.1:$Port/health").GetAwaiter().GetResult().Trim() } catch { "down: $($_.Exception.Message)" } finally { $client.Dispose() }
        }
        function Test-Active($Machine) { $Machine.Run('systemctl is-active ir-bookmarks').Stdout.Trim() }

        # A rollback estate whose hosts are these machines; bookmarks moved and promoted on app-core (health-gated).
        function New-MovedEstate {
            $root = New-RollbackEstate "http://127.0.0.1:$($ports['app-core'])/health"
            Set-TestSshTargets -Root $root -Default (ConvertTo-TestSshServer $core -UserKeyPath $set.UserKeyPath) `
                -Map @{ 'legacy-docker' = (ConvertTo-TestSshServer $legacy -UserKeyPath $set.UserKeyPath) } -ExtraIds 'legacy-docker'
            $before = Get-Snapshot $root
            $legacy.Run('systemctl start ir-bookmarks').Succeeded | Should -BeTrue
            $core.Run('systemctl start ir-bookmarks').Succeeded | Should -BeTrue     # the new instance is deployed
            Invoke-Move $root
            (Invoke-RelocationPromotion -Root $root -Service bookmarks -Probes 2 -Interval 0.2 -Window 30 -Confirm:$false).Outcome | Should -Be 'Succeeded'
            $legacy.Run('systemctl stop ir-bookmarks').Succeeded | Should -BeTrue    # the old instance is retired
            Get-Http $ports['app-core'] | Should -Be 'bookmarks on app-core' -Because 'the moved service serves from the new host'
            @{ Root = $root; Before = $before }
        }
    }
    AfterAll {
        if ($script:set) { $set.Dispose() }
    }

    It 'rolls a moved service back: old host serves, new unit stopped, SSOTs byte-identical, gates pass, incident recorded' {
        Set-RestoreScript 'tar -xf /var/backups/bookmarks.tar -C / && systemctl restart ir-bookmarks'
        $e = New-MovedEstate
        $out = Invoke-RelocationRollback -Root $e.Root -Service bookmarks -Reason 'p99 latency doubled after cutover' -RoutingConfirmed -Confirm:$false
        $receipt = $out | Where-Object { $_ -is [InfraRelocation.Receipts.RollbackReceipt] }
        $receipt.Outcome | Should -Be 'Succeeded'
        ($receipt.Steps | ForEach-Object Step) -join ',' | Should -Be 'reach,stop,verify-backup,restore,start,route,revert,gates,document'
        ($receipt.Steps | Where-Object State -notin 'Done', 'Unchanged') | Should -BeNullOrEmpty
        ($receipt.Steps | Where-Object Step -eq 'route').Evidence | Should -Match 'manual step: .* confirmed'

        # The machines say so, independently of the module (OpenSSH client, HTTP).
        Test-Active $core | Should -Be 'inactive'
        Test-Active $legacy | Should -Be 'active'
        Get-Http $ports['legacy-docker'] | Should -Be 'bookmarks restored from backup'
        Get-Http $ports['app-core'] | Should -Match '^down'

        Compare-Snapshot $e.Before (Get-Snapshot $e.Root) | Should -BeNullOrEmpty -Because 'every SSOT is byte-identical to before the move'
        $receipt.ByteIdentity | Where-Object { $_ -match 'differs' } | Should -BeNullOrEmpty
        (Invoke-RelocationParity -Root $e.Root | Where-Object { $_ -is [InfraRelocation.Receipts.RelocationReceipt] }).Outcome | Should -Be 'Passed'

        $incident = Join-Path $e.Root $receipt.IncidentRecord
        $text = Get-Content -Raw $incident
        $text | Should -Match 'Why: p99 latency doubled after cutover'
        $text | Should -Match "Who: $([regex]::Escape([Environment]::UserName))"
        $text | Should -Match '\| restore \| legacy-docker \| Done \|'
        $text | Should -Match 'byte-identical to before the move'
        Test-Path (Join-Path $e.Root '.infra-relocation/rollback/bookmarks.json') | Should -BeFalse -Because 'the journal goes once the incident is recorded'
        (Get-RelocationManifest -Root $e.Root).Services | Where-Object Service -eq bookmarks | ForEach-Object StatusText | Should -Be 'planned'

        { Invoke-RelocationRollback -Root $e.Root -Service bookmarks -Reason again -Confirm:$false } |
            Should -Throw -ErrorId "RollbackNothingMoved,$Ns.InvokeRelocationRollbackCommand" -Because 'a finished rollback leaves nothing to roll back'
        Get-Http $ports['legacy-docker'] | Should -Be 'bookmarks restored from backup' -Because 'nothing was touched by trying'
    }

    It 'a restore that fails stops there with the SSOTs untouched; once fixed, the next run resumes at the restore' {
        Set-RestoreScript 'echo "backup volume not mounted" >&2; exit 3'
        $e = New-MovedEstate
        $moved = Get-Snapshot $e.Root
        $out = Invoke-RelocationRollback -Root $e.Root -Service bookmarks -Reason 'restore drill' -RoutingConfirmed -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable err
        @($err) | Should -HaveCount 1
        $err[0].Exception.Message | Should -Match 'stopped at step 4 \(restore on legacy-docker\).*exit 3.*backup volume not mounted'
        $receipt = $out | Where-Object { $_ -is [InfraRelocation.Receipts.RollbackReceipt] }
        ($receipt.Steps | Where-Object Order -gt 4).State | Sort-Object -Unique | Should -Be 'Planned'
        Test-Active $legacy | Should -Be 'inactive' -Because 'start (after the restore) did not run'
        Compare-Snapshot $moved (Get-Snapshot $e.Root) | Should -BeNullOrEmpty -Because 'the SSOTs are untouched'

        Set-RestoreScript 'tar -xf /var/backups/bookmarks.tar -C / && systemctl restart ir-bookmarks'
        $out2 = Invoke-RelocationRollback -Root $e.Root -Service bookmarks -Reason 'restore drill' -RoutingConfirmed -Confirm:$false
        $r2 = $out2 | Where-Object { $_ -is [InfraRelocation.Receipts.RollbackReceipt] }
        $r2.Outcome | Should -Be 'Succeeded'
        $r2.Resumed | Should -BeTrue
        @($out2 | Where-Object { $_ -is [InfraRelocation.Receipts.RollbackStepRecord] }).Step -join ',' | Should -Be 'restore,start,route,revert,gates,document'
        Compare-Snapshot $e.Before (Get-Snapshot $e.Root) | Should -BeNullOrEmpty
        Get-Http $ports['legacy-docker'] | Should -Be 'bookmarks restored from backup'
    }

    It 'a failing stop command stops at the stop step, nothing later runs; fixed in the registry, the next run resumes there' {
        Set-RestoreScript 'tar -xf /var/backups/bookmarks.tar -C / && systemctl restart ir-bookmarks'
        $e = New-MovedEstate
        $moved = Get-Snapshot $e.Root
        Edit-EstateFile $e.Root $Registry '^(    commands:\n)' "`$1      stop: `"echo 'unit is busy' >&2; exit 7`"`n"
        $out = Invoke-RelocationRollback -Root $e.Root -Service bookmarks -Reason 'stop drill' -RoutingConfirmed -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable err
        @($err) | Should -HaveCount 1
        $err[0].Exception.Message | Should -Match 'stopped at step 2 \(stop on app-core\).*exit 7.*unit is busy'
        (($out | Where-Object { $_ -is [InfraRelocation.Receipts.RollbackReceipt] }).Steps | Where-Object Order -gt 2).State | Sort-Object -Unique | Should -Be 'Planned'
        Test-Active $core | Should -Be 'active' -Because 'the stop failed'
        Test-Active $legacy | Should -Be 'inactive' -Because 'nothing after the stop ran'

        Edit-EstateFile $e.Root $Registry '^      stop: .*\n' ''
        Compare-Snapshot $moved (Get-Snapshot $e.Root) | Should -BeNullOrEmpty -Because 'no SSOT was written'
        $r = Invoke-RelocationRollback -Root $e.Root -Service bookmarks -Reason 'stop drill' -RoutingConfirmed -Confirm:$false |
            Where-Object { $_ -is [InfraRelocation.Receipts.RollbackReceipt] }
        $r.Outcome | Should -Be 'Succeeded'
        ($r.Steps | Where-Object Step -eq 'stop').RunCommand | Should -Be "systemctl stop 'ir-bookmarks.service'" -Because 'unfinished steps take the estate''s command as it is now'
        Test-Active $core | Should -Be 'inactive'
        Compare-Snapshot $e.Before (Get-Snapshot $e.Root) | Should -BeNullOrEmpty
    }

    It 'a promotion whose health gate fails rolls the service back by itself (-RollbackOnFailure), routing through the estate''s hook' {
        Set-RestoreScript 'tar -xf /var/backups/bookmarks.tar -C / && systemctl restart ir-bookmarks'
        $root = New-RollbackEstate "http://127.0.0.1:$($ports['app-core'])/health"
        Edit-EstateFile $root $Registry '^(      restore: .*\n)' "`$1      route: `"printf 'bookmarks -> legacy-docker\\n' > /etc/ir-route`"`n"
        Set-TestSshTargets -Root $root -Default (ConvertTo-TestSshServer $core -UserKeyPath $set.UserKeyPath) `
            -Map @{ 'legacy-docker' = (ConvertTo-TestSshServer $legacy -UserKeyPath $set.UserKeyPath) } -ExtraIds 'legacy-docker'
        $before = Get-Snapshot $root
        $legacy.Run('rm -f /etc/ir-route; systemctl stop ir-bookmarks').Succeeded | Should -BeTrue
        $core.Run('systemctl start ir-bookmarks').Succeeded | Should -BeTrue
        Invoke-Move $root
        $core.Run('systemctl stop ir-bookmarks').Succeeded | Should -BeTrue      # the new instance dies before its promotion

        $out = Invoke-RelocationPromotion -Root $root -Service bookmarks -Probes 2 -Interval 0.2 -Window 2 -Timeout 1 -RollbackOnFailure -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable err
        @($err) | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -Match '^PromotionUnhealthy,'
        ($out | Where-Object { $_ -is [InfraRelocation.Receipts.PromotionReceipt] }).Outcome | Should -Be 'Blocked'
        $r = $out | Where-Object { $_ -is [InfraRelocation.Receipts.RollbackReceipt] }
        $r.Outcome | Should -Be 'Succeeded'
        $r.Why | Should -Match 'the health gate failed'
        ($r.Steps | Where-Object Step -eq 'route').RunCommand | Should -Match '/etc/ir-route'
        $legacy.Run('cat /etc/ir-route').Stdout | Should -Be "bookmarks -> legacy-docker`n"
        Get-Http $ports['legacy-docker'] | Should -Be 'bookmarks restored from backup'
        Compare-Snapshot $before (Get-Snapshot $root) | Should -BeNullOrEmpty
    }

    It 'a run killed in the middle of a step leaves its journal; the next run resumes at that step' {
        # The restore takes a while (it waits for a file the test writes), so the run can be killed inside it.
        Set-RestoreScript 'while [ ! -e /tmp/restore-go ]; do sleep 0.2; done; tar -xf /var/backups/bookmarks.tar -C / && systemctl restart ir-bookmarks'
        $legacy.Run('rm -f /tmp/restore-go').Succeeded | Should -BeTrue
        $e = New-MovedEstate
        $exe = [Environment]::ProcessPath
        [string[]] $prefix = if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' } else { @() }
        $script = "Import-Module '$BuiltManifest'; Invoke-RelocationRollback -Root '$($e.Root)' -Service bookmarks -Reason kill -RoutingConfirmed -Confirm:`$false"
        $proc = Start-Process -FilePath $exe -PassThru -ArgumentList (@($prefix) + @('-NoProfile', '-NonInteractive', '-Command', $script)) -RedirectStandardOutput (Join-Path $TestDrive 'kill.out')
        $journal = Join-Path $e.Root '.infra-relocation/rollback/bookmarks.json'
        $deadline = [DateTime]::UtcNow.AddMinutes(3)
        while (-not ((Test-Path $journal) -and ((Get-Content -Raw $journal | ConvertFrom-Json).Steps | Where-Object Name -eq 'verify-backup').State -eq 'Unchanged')) {
            if ([DateTime]::UtcNow -gt $deadline -or $proc.HasExited) { throw 'the rollback did not reach the restore' }
            Start-Sleep -Milliseconds 200
        }
        Stop-Process -Id $proc.Id -Force
        $proc.WaitForExit()
        $steps = (Get-Content -Raw $journal | ConvertFrom-Json).Steps
        ($steps | Where-Object Name -eq 'stop').State | Should -Be 'Done'
        ($steps | Where-Object Name -eq 'restore').State | Should -Be 'Planned'
        Test-Active $core | Should -Be 'inactive'

        $legacy.Run('touch /tmp/restore-go').Succeeded | Should -BeTrue
        $out = Invoke-RelocationRollback -Root $e.Root -Service bookmarks -Reason kill -RoutingConfirmed -Confirm:$false
        $r = $out | Where-Object { $_ -is [InfraRelocation.Receipts.RollbackReceipt] }
        $r.Outcome | Should -Be 'Succeeded'
        @($out | Where-Object { $_ -is [InfraRelocation.Receipts.RollbackStepRecord] })[0].Step | Should -Be 'restore'
        Compare-Snapshot $e.Before (Get-Snapshot $e.Root) | Should -BeNullOrEmpty
        Get-Http $ports['legacy-docker'] | Should -Be 'bookmarks restored from backup'
    }
}
