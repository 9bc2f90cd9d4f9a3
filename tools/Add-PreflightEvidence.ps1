<#
.SYNOPSIS
    Appends a passing preflight receipt (capability infra.relocation.preflight) to an estate's receipt ledger, for
    tests and the demo: the cutover guard of Set-RelocationState reads it as the health baseline and backup
    verification evidence the manifest's rollback section requires.
.DESCRIPTION
    Stand-in for Invoke-RelocationPreflight where no hosts can be probed (tests, the demo): it writes the receipt the
    same way the ledger does (hash chain: the line's hash is the SHA-256 of the receipt JSON, which names the previous line's
    hash), with the JSON properties of the Phase 2 contract: ChangeId, HealthBaseline [{Service, Url, StatusCode,
    LatencyMs, Healthy}], BackupVerification [{Service, BackupTarget, Verified, Evidence}], Outcome Passed.
    It probes nothing: never use it as evidence for a real estate. It writes to <Root>/receipts/ledger.jsonl and does
    not read a receipts folder set in ops/infra-relocation.yaml.
.EXAMPLE
    & ./tools/Add-PreflightEvidence.ps1 -Root $DemoRoot
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $Root,
    # Age of the receipt (to test the rollback window).
    [TimeSpan] $Age = [TimeSpan]::Zero,
    # Services whose baseline is recorded unhealthy / whose backup is recorded unverified.
    [string[]] $Unhealthy = @(),
    [string[]] $Unverified = @(),
    [string] $Outcome = 'Passed'
)
$ErrorActionPreference = 'Stop'
$manifest = Get-RelocationManifest -Root $Root
$ledgerFolder = Join-Path $Root 'receipts'
$ledger = Join-Path $ledgerFolder 'ledger.jsonl'
New-Item -ItemType Directory -Force $ledgerFolder | Out-Null
$previous = ''
if (Test-Path $ledger) {
    $last = Get-Content $ledger | Where-Object { $_.Trim() } | Select-Object -Last 1
    if ($last) { $previous = ($last | ConvertFrom-Json).hash }
}
$when = [DateTimeOffset]::UtcNow - $Age
$services = @($manifest.Services)
$receipt = [ordered]@{
    Capability     = 'infra.relocation.preflight'
    Command        = 'Add-PreflightEvidence.ps1'
    RunId          = '{0:yyyyMMdd\THHmmss\Z}-preflight-{1}' -f $when.UtcDateTime, [guid]::NewGuid().ToString('n').Substring(0, 8)
    Mode           = 'Read'
    StartedUtc     = $when.ToString('o')
    EndedUtc       = $when.ToString('o')
    Outcome        = $Outcome
    Summary        = 'test evidence written by tools/Add-PreflightEvidence.ps1 (no probes ran)'
    Findings       = @()
    InputDigests   = @{}
    Actor          = [Environment]::UserName
    Machine        = [Environment]::MachineName
    EstateRoot     = (Resolve-Path $Root).Path
    PreviousHash   = $previous
    Hash           = ''
    ChangeId       = $manifest.ActiveRelocation.ChangeId
    HealthBaseline = @($services | Where-Object HealthUrl | ForEach-Object {
            [ordered]@{ Service = $_.Service; Url = $_.HealthUrl; StatusCode = 200; LatencyMs = 12; Healthy = $_.Service -notin $Unhealthy }
        })
    BackupVerification = @($services | Where-Object BackupTarget | ForEach-Object {
            [ordered]@{ Service = $_.Service; BackupTarget = $_.BackupTarget; Verified = $_.Service -notin $Unverified; Evidence = 'test evidence' }
        })
}
$json = $receipt | ConvertTo-Json -Compress -Depth 6
$sha = [Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes($json))
$hash = [Convert]::ToHexString($sha).ToLowerInvariant()
$line = '{"hash":"' + $hash + '","type":"InfraRelocation.Receipts.PreflightReceipt","receipt":' + $json + '}' + "`n"
[IO.File]::AppendAllText($ledger, $line, [Text.UTF8Encoding]::new($false))
