<#
.SYNOPSIS
    Measures New-ProxmoxVm against the Proxmox emulator process: N targets without vm_id (VMIDs from the site
    range, reserved under the estate lease), sequential vs -ThrottleLimit N, plus the idempotent re-run.
.DESCRIPTION
    Every Proxmox task (clone, resize, start) takes -TaskMs in the emulator, so the figures show the cost of the
    module's own work (lease, manifest writes, polling) on top of the simulated task time, and how parallel
    runs overlap. Needs the built module and output/emulator (./build.ps1 test or demo builds it).
.EXAMPLE
    dotnet pwsh tools/bench/Measure-Provision.ps1 -ModulePath output/InfraRelocation/0.1.0/InfraRelocation.psd1 -RepoRoot .
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $RepoRoot,
    [int] $TaskMs = 1000,
    [int] $PollMs = 100
)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath
. (Join-Path $RepoRoot 'tests' 'Pester' 'ProxmoxFixture.ps1')
. (Join-Path $RepoRoot 'tests' 'Pester' 'EstateFixture.ps1')
if (-not (Get-TestProxmoxEmulatorPath)) { Write-Warning 'Skipped: the Proxmox emulator is not built.'; return }
$env:INFRA_RELOCATION_PVE_POLL_MS = "$PollMs"
$targets = 'files-core', 'ci-runner', 'app-core', 'app-web'

function New-BenchEstate($pve) {
    $root = New-TestEstate -Name ir-bench-prov
    Initialize-TestProxmoxEstate -Root $root -Emulator $pve
    $path = Join-Path $root 'ops' 'bindings' 'infra.relocation.plan.yaml'
    $text = Get-Content $path -Raw
    # all four targets on pve-fra1-a, without vm_id, status planned
    $text = [regex]::Replace($text, '(?m)^  - vm_id: "21[0167]"\n    hostname:', '  - hostname:')
    $text = $text.Replace("proxmox_host: `"pve-fra1-b`"`n    ci_network_cidr: `"dhcp`"", "proxmox_host: `"pve-fra1-a`"`n    ci_network_cidr: `"dhcp`"")
    $text = [regex]::Replace($text, '(?m)(hostname: "(app-core|app-web)"(?:\n    .*)*?\n    status: )"ready"', '$1"planned"')
    Set-Content $path $text -NoNewline
    $root
}

$rows = foreach ($throttle in 1, 4) {
    $pve = Start-TestProxmoxEmulator -TaskMs $TaskMs
    try {
        $root = New-BenchEstate $pve
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $r = $targets | New-ProxmoxVm -Root $root -ThrottleLimit $throttle -Confirm:$false -WarningAction SilentlyContinue
        $first = $sw.Elapsed.TotalSeconds
        if (@($r | Where-Object Outcome -ne 'Succeeded').Count) { throw "not all succeeded: $($r.Summary -join '; ')" }
        $ids = ($r.VmId | Sort-Object) -join ','
        $sw.Restart()
        $again = $targets | New-ProxmoxVm -Root $root -ThrottleLimit $throttle -Confirm:$false -WarningAction SilentlyContinue
        $rerun = $sw.Elapsed.TotalSeconds
        [pscustomobject]@{
            Targets = $targets.Count; ThrottleLimit = $throttle; TaskMs = $TaskMs
            ProvisionSeconds = [math]::Round($first, 2); RerunSeconds = [math]::Round($rerun, 2)
            RerunOutcome = ($again.Outcome | Sort-Object -Unique) -join ','; VmIds = $ids
            MutatingRequests = @(Get-TestProxmoxMutatingRequest $pve).Count
        }
        Remove-Item $root -Recurse -Force -ErrorAction Ignore
    } finally {
        Stop-TestProxmoxEmulator $pve
    }
}
$rows | Format-Table | Out-Host
$rows
