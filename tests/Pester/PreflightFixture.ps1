# Real preflight evidence for tests and the demo that move a relocation to cutover: Invoke-RelocationPreflight runs
# against loopback services (no stand-in receipt). Dot-source after common.ps1; it dot-sources the SSH, HTTP and
# estate fixtures it needs.
#
#   $skip = Test-TestPreflightAvailable          # $null, or why the loopback hosts cannot run here
#   $hosts = Start-TestPreflightHosts            # one sshd for every VM, one per hypervisor (pinned machine id), HTTP
#   Set-TestPreflightTargets -Root $root -Hosts $hosts [-Unhealthy wiki]   # only the wiring
#   $receipt = Add-TestPreflightEvidence -Root $root -Hosts $hosts [-Unhealthy wiki] [-AllowFailure]
#   Stop-TestPreflightHosts $hosts
#   $copy = New-TestEstate -From $root -Name x   # the estate with its ledger, as a git clone would have it
#
# Add-TestPreflightEvidence points the estate's ssh targets, health_url values (scheme, host and port only: paths
# and null values stay) and backup targets at those services (fresh backup files in a folder beside the estate),
# then runs the real preflight and returns its receipt. Files that need many estates with evidence run it once and
# copy that estate with New-TestEstate -From: the copy's files are byte for byte the ones the preflight read.

. (Join-Path $PSScriptRoot 'SshFixture.ps1')
. (Join-Path $PSScriptRoot 'HttpFixture.ps1')
. (Join-Path $PSScriptRoot 'RemoteEstate.ps1')

# The machine ids the sample placement policy pins for its hypervisors.
$script:TestHypervisorPins = @{
    'pve-fra1-a' = '3f9c2a1b7d4e4c0a9b8e6f5d4c3b2a19'
    'pve-fra1-b' = 'a0b1c2d3e4f5461788990a1b2c3d4e5f'
    'pve-ams1-a' = '5e6f708192a34b5c8d9e0f1a2b3c4d5e'
}

function Test-TestPreflightAvailable {
    $reason = Test-TestSshServerAvailable
    if ($reason) { return $reason }
    if (-not (Test-TestSshIsolation)) {
        return 'sshd runs without private UTS/mount namespaces (needs root and unshare), so the hypervisors cannot report their pinned machine ids.'
    }
    $null
}

function Start-TestPreflightHosts([string] $Prefix = 'pf') {
    $map = @{}
    foreach ($id in $script:TestHypervisorPins.Keys) {
        $map[$id] = Start-TestSshServer -Name "$Prefix-$id" -Hostname $id -MachineId $script:TestHypervisorPins[$id]
    }
    [pscustomobject]@{
        Vm    = Start-TestSshServer -Name "$Prefix-vms" -Hostname app-core
        HvMap = $map
        Http  = Start-TestHttpServer
    }
}

function Stop-TestPreflightHosts($Hosts) {
    if (-not $Hosts) { return }
    @($Hosts.Vm) + @($Hosts.HvMap.Values) | Where-Object { $_ } | Stop-TestSshServer
    if ($Hosts.Http) { $Hosts.Http.Dispose() }
}

# Points the estate's ssh targets, health_url values (scheme, host and port: paths and null values stay) and backup
# targets (fresh files in a folder beside the estate) at the loopback hosts.
function Set-TestPreflightTargets {
    param([Parameter(Mandatory)][string] $Root, [Parameter(Mandatory)] $Hosts, [string[]] $Unhealthy = @())
    Set-TestSshTargets -Root $Root -Default $Hosts.Vm -Map $Hosts.HvMap
    $manifest = Join-Path $Root 'ops/bindings/infra.relocation.plan.yaml'
    $service = $null
    $lines = foreach ($line in Get-Content $manifest) {
        if ($line -match '^\s*-\s*service:\s*"?([A-Za-z0-9._-]+)"?') { $service = $Matches[1] }
        if ($service -and $line -match '^(\s*health_url:\s*)"https?://[^/"]+(/[^"]*)?"(.*)$') {
            $url = if ($service -in $Unhealthy) { "http://127.0.0.1:$($Hosts.Http.Port)/status/503" } else { "http://127.0.0.1:$($Hosts.Http.Port)$($Matches[2])" }
            "$($Matches[1])`"$url`"$($Matches[3])"
        } else { $line }
    }
    Set-Content -Path $manifest -Value $lines
    Set-TestBackupTargets -Root $Root -Folder "$Root-backups"
}

function Add-TestPreflightEvidence {
    param(
        [Parameter(Mandatory)][string] $Root,
        [Parameter(Mandatory)] $Hosts,
        # Services whose health_url answers 503 (the preflight then fails).
        [string[]] $Unhealthy = @(),
        [switch] $AllowFailure
    )
    Set-TestPreflightTargets -Root $Root -Hosts $Hosts -Unhealthy $Unhealthy
    # A probe can miss its deadline on a loaded machine: the preflight is run again (a new, real run) up to three
    # times until every service that should answer is healthy.
    foreach ($attempt in 1..3) {
        $out = Invoke-RelocationPreflight -Root $Root -Timeout 20 -WarningAction SilentlyContinue -ErrorAction SilentlyContinue
        $receipt = $out | Where-Object { $_ -is [InfraRelocation.Receipts.PreflightReceipt] }
        $sick = @($receipt.HealthBaseline | Where-Object { -not $_.Healthy -and $_.Service -notin $Unhealthy })
        if ($AllowFailure -or ($receipt.Outcome -eq 'Passed' -and $sick.Count -eq 0)) { return $receipt }
    }
    $errors = @($out | Where-Object { $_ -is [InfraRelocation.RelocationFinding] -and $_.Severity -eq 'Error' } | ForEach-Object { "$_" }) +
        @($sick | ForEach-Object { "$($_.Service) $($_.Url): $($_.StatusCode) $($_.Error)" })
    throw "The loopback preflight did not pass ($($receipt.Outcome)): $($errors -join '; ')"
}
