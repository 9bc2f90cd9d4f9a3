# Demo step: a service moved and promoted, then rolled back end to end with Invoke-RelocationRollback, on two real
# Debian 12 machines (tests/Pester/MachineFixture.ps1: systemd-nspawn) standing in for legacy-docker and app-core.
# The service is busybox httpd as a systemd unit. When machines cannot run here, the step prints why and stops.
# Works on its own copy of the sample estate.

. (Join-Path $RepoRoot 'tests/Pester/MachineFixture.ps1')
. (Join-Path $RepoRoot 'tests/Pester/RemoteEstate.ps1')

# A fresh copy of the sample estate (earlier steps have moved $DemoRoot along).
$rbRoot = "$DemoRoot-rollback"
New-Item -ItemType Directory $rbRoot | Out-Null
Copy-Item (Join-Path $RepoRoot 'ops') (Join-Path $rbRoot 'ops') -Recurse
function Get-DemoHttp([int] $Port) {
    $client = [Net.Http.HttpClient]::new()   # busybox httpd sends no content type: read the body as text
    try { $client.GetStringAsync("http://127.0.0.1:$Port/health").GetAwaiter().GetResult().Trim() } catch { "down ($($_.Exception.Message))" } finally { $client.Dispose() }
}
function Get-DemoPort { $l = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0); $l.Start(); $p = $l.LocalEndpoint.Port; $l.Stop(); $p }

# The relocation in cutover, bookmarks' registry entry says how to run it (its unit) and how to restore its backup.
$ports = @{ 'legacy-docker' = (Get-DemoPort); 'app-core' = (Get-DemoPort) }
$manifest = 'ops/bindings/infra.relocation.plan.yaml'
Edit-EstateFile $rbRoot $manifest '^  state: "preflight"' '  state: "cutover"'
Edit-EstateFile $rbRoot $manifest '^  approved_by: null' '  approved_by: "cab-chair"'
Edit-EstateFile $rbRoot $manifest '"http://192\.0\.2\.110:8085/health"' "`"http://127.0.0.1:$($ports['app-core'])/health`""
Edit-EstateFile $rbRoot 'ops/governance/SERVICE_REGISTRY.yaml' '^(    compose: /opt/stacks/bookmarks/docker-compose.yml\n)' (
    "`$1    unit: ir-bookmarks.service`n    commands:`n      verify_backup: `"tar -tf /var/backups/bookmarks.tar >/dev/null`"`n" +
    "      restore: `"tar -xf /var/backups/bookmarks.tar -C / && systemctl restart ir-bookmarks`"`n")

$why = Test-TestMachineAvailable
$set = $null
try {
    if (-not $why) {
        try {
            $set = New-TestMachineSet
            $legacy = $set.Start('legacy-docker')
            $core = $set.Start('app-core')
        } catch { $why = "$_" }
    }
    if ($why) {
        Write-DemoStep "Rollback skipped (no Debian machines here: $why)"
        Write-Host 'A rollback needs a move recorded in the ledger and hosts to run on; see tests/Pester/Rollback.Tests.ps1.'
        return
    }

    foreach ($m in $legacy, $core) {
        $null = $m.Run(@"
mkdir -p /srv/bookmarks && printf 'bookmarks on $($m.Name)\n' > /srv/bookmarks/health &&
printf '[Unit]\nDescription=bookmarks\n[Service]\nExecStart=/bin/busybox httpd -f -p 127.0.0.1:$($ports[$m.Name]) -h /srv/bookmarks\n' > /etc/systemd/system/ir-bookmarks.service &&
systemctl daemon-reload && systemctl start ir-bookmarks
"@)
    }
    $null = $legacy.Run("mkdir -p /tmp/b/srv/bookmarks && printf 'bookmarks restored from backup\n' > /tmp/b/srv/bookmarks/health && tar -cf /var/backups/bookmarks.tar -C /tmp/b srv")
    Set-TestSshTargets -Root $rbRoot -Default (ConvertTo-TestSshServer $core -UserKeyPath $set.UserKeyPath) `
        -Map @{ 'legacy-docker' = (ConvertTo-TestSshServer $legacy -UserKeyPath $set.UserKeyPath) } -ExtraIds 'legacy-docker'

    Write-DemoStep 'The move: bookmarks to app-core (status and SSOTs in one recorded transaction, health-gated promotion), then the old instance retired'
    # This copy's relocation is in cutover by a hand edit, with no VM evidence (step 70 walks that part): the move
    # overrides phase 1's VM items on the record.
    Write-DemoCommand "Set-RelocationServiceStatus -Root `$root -Service bookmarks -Status cutover -UpdateSsot -Force -Reason '<why>' -Confirm:`$false"
    Set-RelocationServiceStatus -Root $rbRoot -Service bookmarks -Status cutover -UpdateSsot -Confirm:$false -Force -WarningAction SilentlyContinue `
        -Reason 'demo: app-core is a Debian machine booted for this step, not provisioned through this ledger (step 70 shows that walk)' |
        Format-List Outcome, Summary, OverrideReason, @{ n = 'Files'; e = { $_.Files.Path -join ', ' } } -Force | Out-Host
    Write-DemoCommand 'Invoke-RelocationPromotion -Root $root -Service bookmarks -Probes 2 -Interval 0.2'
    Invoke-RelocationPromotion -Root $rbRoot -Service bookmarks -Probes 2 -Interval 0.2 -Confirm:$false | Format-List Outcome, Summary -Force | Out-Host
    $null = $legacy.Run('systemctl stop ir-bookmarks')
    Write-Host "app-core serves: $(Get-DemoHttp $ports['app-core'])"

    Write-DemoStep 'The rollback, previewed: every remote command and the diff of the SSOTs'
    Write-DemoCommand "Invoke-RelocationRollback -Root `$root -Service bookmarks -Reason 'p99 latency doubled' -WhatIf"
    # Each step with what it would run, wrapped at spaces (a table would cut the commands mid-word).
    Invoke-RelocationRollback -Root $rbRoot -Service bookmarks -Reason 'p99 latency doubled' -WhatIf |
        Where-Object { $_ -is [InfraRelocation.Receipts.RollbackStepRecord] } |
        ForEach-Object { [InfraRelocation.ConsoleText]::Row($Host.UI.RawUI.BufferSize.Width, @(3, 14, 14), ('{0}.' -f $_.Order), $_.Step, $(if ($_.Host) { $_.Host } else { 'estate' }), $_.RunCommand) } | Out-Host

    Write-DemoStep 'The rollback, for real (DNS is changed by hand here: -RoutingConfirmed)'
    Write-DemoCommand "Invoke-RelocationRollback -Root `$root -Service bookmarks -Reason 'p99 latency doubled' -RoutingConfirmed -Confirm:`$false"
    $out = Invoke-RelocationRollback -Root $rbRoot -Service bookmarks -Reason 'p99 latency doubled' -RoutingConfirmed -Confirm:$false
    $out | Where-Object { $_ -is [InfraRelocation.Receipts.RollbackStepRecord] } | Out-Host   # the module's own view: one row per step
    $receipt = $out | Where-Object { $_ -is [InfraRelocation.Receipts.RollbackReceipt] }
    $receipt | Out-Host
    Write-Host "legacy-docker serves: $(Get-DemoHttp $ports['legacy-docker'])"
    Write-Host "app-core's unit: $($core.Run('systemctl is-active ir-bookmarks').Stdout.Trim())"
    Write-DemoCommand '$receipt.ByteIdentity'
    $receipt.ByteIdentity | Out-Host
    Write-DemoCommand "Get-Content (Join-Path `$root '$($receipt.IncidentRecord)')"
    Get-Content (Join-Path $rbRoot $receipt.IncidentRecord) | Select-Object -First 24 | Out-Host
} finally {
    if ($set) { $set.Dispose() }
    Remove-Item $rbRoot -Recurse -Force -ErrorAction Ignore   # beside $DemoRoot, which tools/Invoke-Demo.ps1 removes
}
