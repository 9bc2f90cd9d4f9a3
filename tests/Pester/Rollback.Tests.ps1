# Invoke-RelocationRollback: the protocol's rollback procedure executed. Bad input on copies of the sample estate
# (nothing runs, nothing is written), then real rollbacks on real Debian 12 machines (MachineFixture.ps1): a small
# HTTP service (busybox httpd as a systemd unit) moves from legacy-docker to app-core, passes its health-gated
# promotion there, and is rolled back: the old host serves it again, the new host's unit is stopped, every SSOT is
# byte-identical to before the move, the gates pass and the incident record exists. Also a restore, a stop and a start
# that fail (each stops there, SSOTs untouched, the next run resumes), and a run killed (SIGKILL) inside each of the
# protocol's steps (stop, restore, start, route, revert, gates, incident record) and resumed to the same end state.

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
    $script:Ns = 'InfraRelocation.Commands.Cmdlets'
    $script:WarningPreference = 'SilentlyContinue'

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
    function New-RollbackEstate([string] $HealthUrl = 'http://127.0.0.1:9/health', [string] $Commands = '') {
        $root = New-TestEstate -Name rollback
        Edit-EstateFile $root $Manifest '^  state: "preflight"' '  state: "cutover"'
        Edit-EstateFile $root $Manifest '^  approved_by: null' '  approved_by: "cab-chair"'
        Edit-EstateFile $root $Manifest '"http://192\.0\.2\.110:8085/health"' "`"$HealthUrl`""
        Edit-EstateFile $root $Registry '^(    compose: /opt/stacks/bookmarks/docker-compose.yml\n)' (
            "`$1    unit: ir-bookmarks.service`n    commands:`n" +
            "      verify_backup: `"tar -tf /var/backups/bookmarks.tar >/dev/null`"`n" +
            "      restore: `"sh /usr/local/sbin/restore-bookmarks`"`n" + $Commands)
        $root
    }

    # The move itself: one recorded transition in which the service registry, the stack registry and the health binding
    # follow (-UpdateSsot), so its receipt records every value and file digest before the move. The relocation is in
    # cutover by a hand edit, with no VM evidence for phase 1 (app-core): the move overrides those items with a reason.
    function Invoke-Move([string] $Root) {
        $r = Set-RelocationServiceStatus -Root $Root -Service bookmarks -Status cutover -UpdateSsot -Confirm:$false -Force -Reason 'test: phase 1''s VM targets are not provisioned in this fixture'
        $r.Outcome | Should -Be 'Succeeded'
        $r
    }

    # SHA-256 of every estate file's raw bytes, by path (nothing left out).
    function Get-RawDigest([string] $Root) {
        $d = @{}
        foreach ($f in Get-ChildItem -Recurse -File (Join-Path $Root 'ops')) {
            $d[[IO.Path]::GetRelativePath($Root, $f.FullName).Replace('\', '/')] = (Get-FileHash -Algorithm SHA256 $f.FullName).Hash.ToLowerInvariant()
        }
        $d
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
        Invoke-Move $root | Out-Null
    }

    It 'a service that has not moved is refused' {
        { Invoke-RelocationRollback -Root $root -Service rss-reader -Reason test -Confirm:$false } |
            Should -Throw -ErrorId "RollbackNothingMoved,$Ns.InvokeRelocationRollbackCommand"
    }

    It 'a missing rollback_to is one clear error; nothing is written, no journal' {
        $copy = New-TestEstate -From $root -Name norollback
        Edit-EstateFile $copy $Manifest '(- service: "bookmarks"(?:\n(?!  - ).*)*?\n    rollback_to: )"legacy-docker"' '$1null'
        $before = Get-Snapshot $copy
        $err = { Invoke-RelocationRollback -Root $copy -Service bookmarks -Reason test -Confirm:$false } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -Be "RollbackTargetMissing,$Ns.InvokeRelocationRollbackCommand"
        $err.Exception.Message | Should -Match 'has no rollback_to at ops/bindings/infra\.relocation\.plan\.yaml:\d+:\d+'
        $err.CategoryInfo.Category | Should -Be 'InvalidData'
        $err.ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
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
        # A free port below the kernel's ephemeral range (32768 and up), so that no outgoing connection of the many
        # SSH sessions the tests open can take it as its source port while the service is stopped.
        function Get-FreePort {
            while ($true) {
                $l = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, (Get-Random -Minimum 20000 -Maximum 32000))
                try { $l.Start(); return $l.LocalEndpoint.Port } catch [Net.Sockets.SocketException] { } finally { $l.Stop() }
            }
        }
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
        function New-MovedEstate([string] $Commands = '') {
            $root = New-RollbackEstate "http://127.0.0.1:$($ports['app-core'])/health" $Commands
            Set-TestSshTargets -Root $root -Default (ConvertTo-TestSshServer $core -UserKeyPath $set.UserKeyPath) `
                -Map @{ 'legacy-docker' = (ConvertTo-TestSshServer $legacy -UserKeyPath $set.UserKeyPath) } -ExtraIds 'legacy-docker'
            $before = Get-Snapshot $root
            $raw = Get-RawDigest $root
            $legacy.Run('systemctl start ir-bookmarks').Succeeded | Should -BeTrue
            $core.Run('systemctl start ir-bookmarks').Succeeded | Should -BeTrue     # the new instance is deployed
            $move = Invoke-Move $root
            (Invoke-RelocationPromotion -Root $root -Service bookmarks -Probes 2 -Interval 0.2 -Window 30 -Confirm:$false).Outcome | Should -Be 'Succeeded'
            $legacy.Run('systemctl stop ir-bookmarks').Succeeded | Should -BeTrue    # the old instance is retired
            Get-Http $ports['app-core'] | Should -Be 'bookmarks on app-core' -Because 'the moved service serves from the new host'
            @{ Root = $root; Before = $before; Raw = $raw; Move = $move }
        }

        # The end state of a finished rollback, as the machines and the estate say it.
        function Assert-RolledBack($e, [string] $Served = 'bookmarks restored from backup') {
            Test-Active $core | Should -Be 'inactive'
            Test-Active $legacy | Should -Be 'active'
            Get-Http $ports['legacy-docker'] | Should -Be $Served
            Get-Http $ports['app-core'] | Should -Match '^down'
            Compare-Snapshot $e.Before (Get-Snapshot $e.Root) | Should -BeNullOrEmpty -Because 'every SSOT is byte-identical to before the move'
            (Invoke-RelocationParity -Root $e.Root | Where-Object { $_ -is [InfraRelocation.Receipts.RelocationReceipt] }).Outcome | Should -Be 'Passed'
            @(Get-ChildItem (Join-Path $e.Root 'docs/incidents') -Filter '*-bookmarks-rollback-*.md') | Should -HaveCount 1
            Test-Path (Join-Path $e.Root '.infra-relocation/rollback/bookmarks.json') | Should -BeFalse
        }

        # Runs the rollback in a child pwsh and kills it (SIGKILL: no cleanup, no receipt) once its journal shows $Step
        # started and $InStep says the step is under way; returns the journal's steps as the kill left them.
        function Stop-RollbackInStep([string] $Root, [string] $Step, [scriptblock] $InStep = { $true }) {
            $exe = [Environment]::ProcessPath
            [string[]] $prefix = if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' } else { @() }
            $script = "Import-Module '$BuiltManifest'; Invoke-RelocationRollback -Root '$Root' -Service bookmarks -Reason kill -RoutingConfirmed -LeaseTimeoutSeconds 600 -Confirm:`$false"
            $out = Join-Path $TestDrive "kill-$Step.out"
            $proc = Start-Process -FilePath $exe -PassThru -ArgumentList (@($prefix) + @('-NoProfile', '-NonInteractive', '-Command', $script)) -RedirectStandardOutput $out -RedirectStandardError "$out.err"
            $journal = Join-Path $Root '.infra-relocation/rollback/bookmarks.json'
            $deadline = [DateTime]::UtcNow.AddMinutes(3)
            try {
                while ($true) {
                    $now = if (Test-Path $journal) { (Get-Content -Raw $journal | ConvertFrom-Json).Steps | Where-Object Name -EQ $Step }
                    if ($now -and $now.StartedUtc -and $now.State -eq 'Planned' -and (& $InStep)) { break }
                    if ([DateTime]::UtcNow -gt $deadline -or $proc.HasExited) {
                        # The child's error output is coloured; the colour codes are left out of the message.
                        throw "the rollback did not reach step ${Step}: $(Get-Content -Raw $out) $(Get-Content -Raw "$out.err")" -replace "`e\[[0-9;]*m", ''
                    }
                    Start-Sleep -Milliseconds 100
                }
            } finally {
                if (-not $proc.HasExited) { Stop-Process -Id $proc.Id -Force }
                $proc.WaitForExit()
            }
            $steps = (Get-Content -Raw $journal | ConvertFrom-Json).Steps
            $at = $steps | Where-Object Name -EQ $Step
            $at.State | Should -Be 'Planned' -Because "the run was killed inside $Step"
            $at.StartedUtc | Should -Not -BeNullOrEmpty -Because 'the journal shows the step started'
            ($steps | Where-Object Order -LT $at.Order).State | Where-Object { $_ -notin 'Done', 'Unchanged' } | Should -BeNullOrEmpty
            $later = @($steps | Where-Object Order -GT $at.Order)   # none after the incident record
            if ($later) { $later.State | Sort-Object -Unique | Should -Be 'Planned' -Because 'nothing after it ran' }
            $steps
        }

        # One rollback run, its errors and warnings collected.
        function Invoke-RollbackRun([string] $Root, [hashtable] $With = @{}) {
            $out = Invoke-RelocationRollback -Root $Root -Service bookmarks -RoutingConfirmed -Confirm:$false @With -WarningVariable warn -WarningAction SilentlyContinue -ErrorAction SilentlyContinue -ErrorVariable failed
            @{ Out = $out; Errors = @($failed); Warnings = @($warn) }
        }

        # The next run: resumes at $Step and finishes.
        function Resume-Rollback([string] $Root, [string] $Step) {
            $run = Invoke-RollbackRun $Root @{ Reason = 'kill' }
            if ($run.Errors) { throw "$($run.Errors[0]) The unit on legacy-docker: $($legacy.Run('journalctl -u ir-bookmarks -n 12 --no-pager').Stdout)" }
            $run.Warnings | Should -Match 'Resuming the rollback of bookmarks'
            $r = $run.Out | Where-Object { $_ -is [InfraRelocation.Receipts.RollbackReceipt] }
            $r.Outcome | Should -Be 'Succeeded'
            $r.Resumed | Should -BeTrue
            @($run.Out | Where-Object { $_ -is [InfraRelocation.Receipts.RollbackStepRecord] })[0].Step | Should -Be $Step
            $r
        }

        # A command of the service registry that marks it is running, then waits for /tmp/ir-go (written by the test).
        function Get-WaitingCommand([string] $Name, [string] $Then) { "touch /tmp/ir-in-$Name; while [ ! -e /tmp/ir-go ]; do sleep 0.2; done; $Then" }
        function Reset-Marker { foreach ($m in $legacy, $core) { $m.Run('rm -f /tmp/ir-go /tmp/ir-in-* /etc/ir-route').Succeeded | Should -BeTrue } }
        function Test-Marker($Machine, [string] $Name) { $Machine.Run("test -e /tmp/ir-in-$Name").Succeeded }
        function Open-Go { foreach ($m in $legacy, $core) { $m.Run('touch /tmp/ir-go').Succeeded | Should -BeTrue } }
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

        # Every SSOT the move changed, byte for byte, against the digest its receipt recorded before the move.
        $changed = @($e.Move.Files.Path | Sort-Object)
        $changed | Should -Be (@($Manifest, 'ops/bindings/services.health.yaml', 'ops/governance/STACK_REGISTRY.yaml', $Registry) | Sort-Object)
        $now = Get-RawDigest $e.Root
        foreach ($file in $changed) {
            ($e.Move.Files | Where-Object Path -EQ $file).OldSha256 | Should -Be $e.Raw[$file] -Because "the move's receipt recorded $file before it"
            $line = $receipt.ByteIdentity | Where-Object { $_.StartsWith("${file}:") }
            if ($file -eq $Manifest) {
                $line | Should -Match 'byte-identical to before the move apart from its ledger_anchor line'
            } else {
                $now[$file] | Should -Be $e.Raw[$file] -Because "$file is byte-identical to before the move"
                $line | Should -Match "byte-identical to before the move \(sha256 $($e.Raw[$file].Substring(0, 12))\)"
            }
        }
        (Invoke-RelocationParity -Root $e.Root | Where-Object { $_ -is [InfraRelocation.Receipts.RelocationReceipt] }).Outcome | Should -Be 'Passed'

        $incident = Join-Path $e.Root $receipt.IncidentRecord
        $text = Get-Content -Raw $incident
        $text | Should -Match 'Why: p99 latency doubled after cutover'
        $text | Should -Match "Who: $([regex]::Escape([Environment]::UserName))"
        $text | Should -Match '\| restore \| legacy-docker \| Done \|'
        $text | Should -Match 'byte-identical to before the move'
        $text | Should -Match 'ops/governance/STACK_REGISTRY\.yaml `stacks\[\d+\]\.deploy_target`: host:app-core -> host:legacy-docker \(from receipt'
        $text | Should -Not -Match 'no receipt wrote it' -Because 'every value written back comes from the move''s receipts'
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

    It 'a failing start command stops at the start step, nothing later runs, no SSOT is written; fixed, the next run resumes there' {
        Set-RestoreScript 'tar -xf /var/backups/bookmarks.tar -C /'
        $e = New-MovedEstate
        $moved = Get-Snapshot $e.Root
        Edit-EstateFile $e.Root $Registry '^(    commands:\n)' "`$1      start: `"echo 'port 8085 in use' >&2; exit 5`"`n"
        $out = Invoke-RelocationRollback -Root $e.Root -Service bookmarks -Reason 'start drill' -RoutingConfirmed -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable err
        @($err) | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -Be "RollbackStepFailed,$Ns.InvokeRelocationRollbackCommand"
        $err[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
        $err[0].ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
        $err[0].Exception.Message | Should -Match 'stopped at step 5 \(start on legacy-docker\).*exit 5.*port 8085 in use'
        (($out | Where-Object { $_ -is [InfraRelocation.Receipts.RollbackReceipt] }).Steps | Where-Object Order -GT 5).State | Sort-Object -Unique | Should -Be 'Planned'
        Test-Active $core | Should -Be 'inactive' -Because 'the stop before it ran'
        Test-Active $legacy | Should -Be 'inactive' -Because 'the start failed'
        Edit-EstateFile $e.Root $Registry '^      start: .*\n' ''
        Compare-Snapshot $moved (Get-Snapshot $e.Root) | Should -BeNullOrEmpty -Because 'no SSOT was written'

        Resume-Rollback $e.Root 'start' | Out-Null
        Assert-RolledBack $e
    }

    # A real interruption inside each of the protocol's steps: the run is killed (SIGKILL) while the step is under way
    # (a remote command still running, or an estate step waiting for the estate lease or the receipt ledger that the
    # test holds); the next run resumes at that step and ends where an uninterrupted rollback ends.
    It 'a run killed inside the <Step> step resumes there and ends in the same state' -ForEach @(
        @{ Step = 'stop'; On = 'app-core' }
        @{ Step = 'restore'; On = 'legacy-docker' }
        @{ Step = 'start'; On = 'legacy-docker' }
        @{ Step = 'route'; On = 'legacy-docker' }
        @{ Step = 'revert' }
        @{ Step = 'gates' }
        @{ Step = 'document' }
    ) {
        Reset-Marker
        $restore = 'tar -xf /var/backups/bookmarks.tar -C /'
        $commands = "      route: `"$(Get-WaitingCommand route "printf 'bookmarks -> legacy-docker\\n' > /etc/ir-route")`"`n"
        switch ($Step) {
            'stop' { $commands += "      stop: `"$(Get-WaitingCommand stop 'systemctl stop ir-bookmarks.service')`"`n" }
            'restore' { $restore = Get-WaitingCommand restore $restore }
            'start' { $commands += "      start: `"$(Get-WaitingCommand start 'systemctl start ir-bookmarks.service')`"`n" }
        }
        Set-RestoreScript $restore
        $e = New-MovedEstate $commands
        if ($Step -notin 'stop', 'restore', 'start', 'route') { Open-Go }   # the remote steps run through

        $hold = $null
        if ($Step -in 'gates', 'document') {
            # First a run that stops at the gates (a hand edit of another service's health binding breaks D35), so
            # that the revert is done; the edit is undone and the run under test starts at the gates.
            $health = 'ops/bindings/services.health.yaml'
            Edit-EstateFile $e.Root $health '(- id: wiki\n    host: )app-core' '${1}legacy-docker'
            # -Force: the revert goes past the mutation guard, which sees the same D35 error before and after it.
            $err = (Invoke-RollbackRun $e.Root @{ Reason = 'kill'; Force = $true }).Errors
            $err[0].Exception.Message | Should -Match 'stopped at step \d+ \(gates\).*D35\.HealthHostMismatch'
            Edit-EstateFile $e.Root $health '(- id: wiki\n    host: )legacy-docker' '${1}app-core'
        }
        $inStep = { $true }
        if ($On) {
            $machine = if ($On -eq 'app-core') { $core } else { $legacy }
            $inStep = { Test-Marker $machine $Step }   # the remote command is running
        }
        if ($Step -in 'revert', 'gates') {
            # The module's own lease (its assembly is loaded apart, so the type is found through it).
            $coreAssembly = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'InfraRelocation.Core' } | Select-Object -First 1
            $lease = $coreAssembly.GetType('InfraRelocation.Core.Persistence.EstateLease', $true)
            $hold = $lease::Acquire($e.Root, 'test: holds the estate', [TimeSpan]::FromSeconds(30), [Threading.CancellationToken]::None, $null)
        }
        if ($Step -eq 'document') {
            $lock = Get-ChildItem -Recurse -Force -File $e.Root | Where-Object Name -EQ '.ledger.lock' | Select-Object -First 1
            $hold = [IO.FileStream]::new($lock.FullName, 'OpenOrCreate', 'ReadWrite', 'None')
            $inStep = { Start-Sleep -Seconds 1; $true }   # let it reach the ledger inside its commit
        }
        try {
            $steps = Stop-RollbackInStep $e.Root $Step $inStep
        } finally {
            if ($hold) { $hold.Dispose() }
        }
        switch ($Step) {
            'stop' { Test-Active $core | Should -Be 'active' -Because 'the stop was still waiting' }
            'start' { Test-Active $legacy | Should -Be 'inactive' -Because 'the start was still waiting' }
            'route' { $legacy.Run('test -e /etc/ir-route').Succeeded | Should -BeFalse }
            'revert' { (Get-Snapshot $e.Root)[$Registry] | Should -Not -Be $e.Before[$Registry] -Because 'nothing was written back yet' }
            'document' { @(Get-ChildItem (Join-Path $e.Root 'docs/incidents') -ErrorAction SilentlyContinue) | Should -HaveCount 0 }
        }
        Open-Go
        $r = Resume-Rollback $e.Root $Step
        ($r.Steps | Where-Object State -NotIn 'Done', 'Unchanged') | Should -BeNullOrEmpty
        Assert-RolledBack $e
        $legacy.Run('cat /etc/ir-route').Stdout | Should -Be "bookmarks -> legacy-docker`n"
    }
}
