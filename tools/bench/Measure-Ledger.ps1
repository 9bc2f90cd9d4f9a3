#Requires -Version 7.4
<#
.SYNOPSIS
    Measures the receipt ledger: growth per gate run on a large failing estate, and what a guard's ledger read costs
    after 1,000 receipts. Prints one JSON object; run it once per built module to compare versions.

.DESCRIPTION
    1. Growth: writes a failing synthetic estate with tools/bench/GateBench (-Services services over -Services/5 VMs,
       -Broken injected inconsistencies, one error finding each), runs
       `Invoke-RelocationGate -Root <estate> -AsExitCode` -Runs times and reports the ledger's growth per run.
    2. Read cost: writes 1,000 receipts through the module's own ReceiptStore (990 gate receipts of an earlier
       relocation with -FindingsPerReceipt findings each, then 10 of the current one ending with a passing preflight),
       then times what the cutover guard reads: `LedgerView.Load(ledger).LatestPreflight(<current change id>)`,
       median of -Runs fresh views.

.EXAMPLE
    dotnet pwsh -NoProfile -File tools/bench/Measure-Ledger.ps1 -ModulePath output/InfraRelocation/0.1.0/InfraRelocation.psd1
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [string] $RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '..' '..')).Path,
    [int] $Services = 12000,
    [int] $Broken = 14500,
    [int] $Runs = 3,
    [int] $Receipts = 1000,
    [int] $FindingsPerReceipt = 20
)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath
$result = [ordered]@{ Module = (Resolve-Path $ModulePath).Path }
# A first cmdlet call loads the Core assembly, whose types the read-cost part uses.
$probe = (New-Item -ItemType Directory (Join-Path ([IO.Path]::GetTempPath()) "ledgerbench-probe-$PID") -Force).FullName
$null = Test-RelocationReceiptChain -Root $probe -ErrorAction Ignore 2>$null
Remove-Item -Recurse -Force $probe
$core = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'InfraRelocation.Core' } | Select-Object -First 1
if (-not $core) { throw 'InfraRelocation.Core is not loaded.' }

if ($Services -gt 0) {
    # The estate comes from GateBench, as in Measure-ColdRuns (the generator lives with the tests, not in the module).
    $estateWork = Join-Path ([IO.Path]::GetTempPath()) "ledgerbench-estate-$PID"
    $out = @(& dotnet run -c Release --project (Join-Path $RepoRoot 'tools' 'bench' 'GateBench') -- --sizes $Services --runs 1 `
            --broken $Broken --keep $estateWork 2>&1)
    if ($LASTEXITCODE -ne 0) { $out | Out-Host; throw "GateBench failed with exit code $LASTEXITCODE" }
    $EstateRoot = Join-Path $estateWork $Services
    $ledger = Join-Path $EstateRoot 'receipts' 'ledger.jsonl'
    Remove-Item -Recurse -Force (Join-Path $EstateRoot 'receipts') -ErrorAction Ignore
    $sizes = [Collections.Generic.List[long]]::new()
    $findings = 0
    for ($i = 0; $i -lt $Runs; $i++) {
        $before = if (Test-Path $ledger) { (Get-Item $ledger).Length } else { 0 }
        $null = Invoke-RelocationGate -Root $EstateRoot -AsExitCode 6>$null 3>$null
        $sizes.Add((Get-Item $ledger).Length - $before)
    }
    $last = Get-RelocationReceipt -Root $EstateRoot -Capability 'infra.relocation.gate' | Select-Object -Last 1
    $result.GateErrors = $last.ErrorCount
    $result.GateWarnings = $last.WarningCount
    $result.Services = $Services
    $result.GrowthPerRunBytes = ($sizes | Sort-Object)[[int][math]::Floor($sizes.Count / 2)]
    Remove-Item -Recurse -Force $estateWork
}

# ---- 1,000 receipts, then the guard's read -------------------------------------------------------------------------
$storeType = $core.GetType('InfraRelocation.Core.Receipts.ReceiptStore')
$viewType = $core.GetType('InfraRelocation.Core.Transitions.LedgerView')
$folder = Join-Path ([IO.Path]::GetTempPath()) "ledgerbench-$PID-$([guid]::NewGuid().ToString('n').Substring(0, 6))"
$store = [Activator]::CreateInstance($storeType, [object[]] @([string] $folder))
$append = $storeType.GetMethod('Append').MakeGenericMethod([InfraRelocation.Receipts.GateReceipt])

function New-Gate([string] $ChangeId, [string] $Capability, [int] $Count, [string] $Outcome) {
    $list = [Collections.Generic.List[InfraRelocation.RelocationFinding]]::new()
    for ($f = 0; $f -lt $Count; $f++) {
        $finding = [InfraRelocation.RelocationFinding]::new()
        $finding.RuleId = 'D35.RegistryHostMismatch'; $finding.Severity = 'Error'; $finding.Subject = "svc-$f"
        $finding.Message = "SERVICE_REGISTRY.yaml says host vm-$f for svc-$f; the manifest moves it to app-$f."
        $finding.Location = [InfraRelocation.SourceLocation]::new('ops/bindings/infra.relocation.plan.yaml', $f + 10, 5)
        $list.Add($finding)
    }
    $gate = [InfraRelocation.Receipts.GateReceipt]::new()
    $gate.Capability = $Capability; $gate.ChangeId = $ChangeId; $gate.Outcome = $Outcome; $gate.Mode = 'Read'
    $gate.RunId = [guid]::NewGuid().ToString('n'); $gate.StartedUtc = $gate.EndedUtc = [DateTimeOffset]::UtcNow
    $gate.Findings = $list
    $gate
}
$write = [Diagnostics.Stopwatch]::StartNew()
for ($i = 0; $i -lt $Receipts - 10; $i++) {
    $null = $append.Invoke($store, [object[]] @((New-Gate 'CHG-EARLIER' 'infra.relocation.gate' $FindingsPerReceipt 'Failed').psobject.BaseObject))
}
for ($i = 0; $i -lt 9; $i++) {
    $null = $append.Invoke($store, [object[]] @((New-Gate 'CHG-CURRENT' 'infra.relocation.gate' $FindingsPerReceipt 'Failed').psobject.BaseObject))
}
$null = $append.Invoke($store, [object[]] @((New-Gate 'CHG-CURRENT' 'infra.relocation.preflight' 0 'Passed').psobject.BaseObject))
$write.Stop()
$ledgerPath = Join-Path $folder 'ledger.jsonl'
$result.Receipts = $Receipts
$result.FindingsPerReceipt = $FindingsPerReceipt
$result.LedgerBytes = (Get-Item $ledgerPath).Length
$times = foreach ($r in 0..$Runs) {
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $view = $viewType.GetMethod('Load', [type[]] @([string])).Invoke($null, [object[]] @([string] $ledgerPath))
    $evidence = $view.LatestPreflight('CHG-CURRENT')
    $sw.Stop()
    if (-not $evidence) { throw 'the guard found no preflight evidence' }
    if ($r -gt 0) { $sw.Elapsed.TotalMilliseconds } # the first run warms up
}
$result.GuardReadMs = [math]::Round(($times | Sort-Object)[[int][math]::Floor(@($times).Count / 2)], 2)
# CPU time per read (this process), steadier than wall time on a loaded machine
$self = [Diagnostics.Process]::GetCurrentProcess()
$cpuBefore = $self.TotalProcessorTime
$loadMethod = $viewType.GetMethod('Load', [type[]] @([string]))
for ($r = 0; $r -lt 20; $r++) {
    $null = $loadMethod.Invoke($null, [object[]] @([string] $ledgerPath)).LatestPreflight('CHG-CURRENT')
}
$self.Refresh()
$result.GuardReadCpuMs = [math]::Round(($self.TotalProcessorTime - $cpuBefore).TotalMilliseconds / 20, 2)
$sw = [Diagnostics.Stopwatch]::StartNew()
$chain = $store.Verify()
$sw.Stop()
$result.VerifyMs = [math]::Round($sw.Elapsed.TotalMilliseconds, 1)
$result.ChainValid = $chain.IsValid
Remove-Item -Recurse -Force $folder
[pscustomobject]$result | ConvertTo-Json
