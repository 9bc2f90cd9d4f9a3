# Real preflight evidence for tests and the demo that move a relocation to cutover: Invoke-RelocationPreflight runs
# against loopback services (no stand-in receipt). Dot-source after common.ps1; it dot-sources the SSH, HTTP and
# estate fixtures it needs.
#
#   $skip = Test-TestPreflightAvailable          # $null, or why the loopback hosts cannot run here
#   $hosts = Start-TestPreflightHosts            # one sshd for every VM, one per hypervisor (pinned machine id), HTTP
#   $receipt = Add-TestPreflightEvidence -Root $root -Hosts $hosts [-Unhealthy wiki] [-AllowFailure]
#   Stop-TestPreflightHosts $hosts
#
# Add-TestPreflightEvidence points the estate's ssh targets, health_url values and backup targets at those services
# (fresh backup files in a folder beside the estate), then runs the real preflight and returns its receipt.

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

function Add-TestPreflightEvidence {
    param(
        [Parameter(Mandatory)][string] $Root,
        [Parameter(Mandatory)] $Hosts,
        # Services whose health_url answers 503 (the preflight then fails).
        [string[]] $Unhealthy = @(),
        [switch] $AllowFailure
    )
    $override = @{}
    foreach ($s in $Unhealthy) { $override[$s] = "http://127.0.0.1:$($Hosts.Http.Port)/status/503" }
    Set-TestSshTargets -Root $Root -Default $Hosts.Vm -Map $Hosts.HvMap
    Set-TestHealthUrls -Root $Root -BaseUrl "http://127.0.0.1:$($Hosts.Http.Port)" -Override $override
    Set-TestBackupTargets -Root $Root -Folder "$Root-backups"
    $out = Invoke-RelocationPreflight -Root $Root -Timeout 5 -WarningAction SilentlyContinue -ErrorAction SilentlyContinue
    $receipt = $out | Where-Object { $_ -is [InfraRelocation.Receipts.PreflightReceipt] }
    if (-not $AllowFailure -and $receipt.Outcome -ne 'Passed') {
        $errors = $out | Where-Object { $_ -is [InfraRelocation.RelocationFinding] -and $_.Severity -eq 'Error' } | ForEach-Object { "$_" }
        throw "The loopback preflight did not pass ($($receipt.Outcome)): $($errors -join '; ')"
    }
    $receipt
}
