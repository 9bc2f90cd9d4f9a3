# Demo step: the read-only gates on the sample estate, then on a broken copy. Runs in the demo's pwsh with the
# module imported and $DemoRoot = a throw-away copy of the sample estate (see tools/Invoke-Demo.ps1).

Write-DemoStep 'Gates: every read-only check, as the protocol''s final verification runs them'
Write-DemoCommand 'Invoke-RelocationGate -Root $DemoRoot'
$gate = @(Invoke-RelocationGate -Root $DemoRoot)
$gate | Out-Host
$gate[-1].Results | Format-Table GateId, Passed, ErrorCount, WarningCount, Summary -Force | Out-Host
if ($gate[-1].Outcome -ne 'Passed') { throw 'The sample estate should pass every gate.' }

Write-DemoStep 'Parity (D35 + D37), placement (D37), exception hygiene (D36), hypervisor identity'
Write-DemoCommand 'Invoke-RelocationParity -Root $DemoRoot'
Invoke-RelocationParity -Root $DemoRoot | Select-Object -Last 1 | Format-List Capability, Outcome, Summary -Force | Out-Host
Write-DemoCommand 'Test-PlacementPolicy -Root $DemoRoot'
Test-PlacementPolicy -Root $DemoRoot | Select-Object -Last 1 | Format-List Capability, Outcome, Summary -Force | Out-Host
Write-DemoCommand 'Test-RelocationException -Root $DemoRoot -WarningDays 120'
Test-RelocationException -Root $DemoRoot -WarningDays 120 | Out-Host
Write-DemoCommand 'Test-HypervisorIdentity -Root $DemoRoot'
Test-HypervisorIdentity -Root $DemoRoot | Select-Object -Last 1 | Format-List Capability, Outcome, Summary -Force | Out-Host

Write-DemoStep 'Impact: which file must say what, for one service'
Write-DemoCommand 'Get-RelocationImpact -Root $DemoRoot -Service wiki'
Get-RelocationImpact -Root $DemoRoot -Service wiki | Where-Object { $_ -is [InfraRelocation.Gates.ImpactItem] } | Out-Host
Write-DemoCommand 'Get-RelocationImpact -Root $DemoRoot -IncludePlanned -Pending | Select-Object -First 5'
Get-RelocationImpact -Root $DemoRoot -IncludePlanned -Pending | Where-Object { $_ -is [InfraRelocation.Gates.ImpactItem] } |
    Select-Object -First 5 | Format-Table Service, File, Location, CurrentValue, RequiredValue -Force | Out-Host

Write-DemoStep 'Rollback plan: the deterministic checklist for one service'
Write-DemoCommand 'Get-RelocationRollbackPlan -Root $DemoRoot -Service wiki'
Get-RelocationRollbackPlan -Root $DemoRoot -Service wiki | Where-Object { $_ -is [InfraRelocation.Gates.RollbackStep] } | Out-Host

Write-DemoStep 'A broken copy: the service registry disagrees with the manifest'
$registry = (Get-RelocationEstate -Root $DemoRoot | Where-Object Kind -EQ ServiceRegistry).FullPath
$original = Get-Content -LiteralPath $registry -Raw
Set-Content -LiteralPath $registry -Value ([regex]::Replace($original, '(?m)(?<=^  wiki:\r?\n    host: )app-core', 'docker-host')) -NoNewline
try {
    Write-DemoCommand 'Invoke-RelocationParity -Root $DemoRoot | Where-Object Severity -EQ Error | Format-List RuleId, Message, Location, RelatedLocation -Force'
    Invoke-RelocationParity -Root $DemoRoot | Where-Object { $_ -is [InfraRelocation.RelocationFinding] -and $_.Severity -eq 'Error' } |
        Format-List RuleId, Message, Location, RelatedLocation -Force | Out-Host

    Write-DemoStep 'Reports for machines: SARIF, JUnit, JSON, Markdown'
    $reports = Join-Path $DemoRoot 'out'
    $run = @(Invoke-RelocationGate -Root $DemoRoot)
    foreach ($format in 'Sarif', 'JUnit', 'Json', 'Markdown') {
        $extension = @{ Sarif = 'sarif'; JUnit = 'xml'; Json = 'json'; Markdown = 'md' }[$format]
        Write-DemoCommand "Invoke-RelocationGate -Root `$DemoRoot | Export-RelocationReport -Format $format -Path out/gates.$extension"
        $run | Export-RelocationReport -Format $format -Path (Join-Path $reports "gates.$extension") | Format-List Format, Path, FindingCount -Force | Out-Host
    }

    Write-DemoStep 'Exit codes for scheduled tasks: 0 pass, 1 findings, 2 invalid input'
    Write-DemoCommand 'pwsh -NoProfile -Command "Import-Module InfraRelocation; exit (Invoke-RelocationGate -Root $DemoRoot -AsExitCode)"'
    $code = Invoke-RelocationGate -Root $DemoRoot -AsExitCode
    Write-Host "exit code: $code (LASTEXITCODE = $LASTEXITCODE)"
} finally {
    Set-Content -LiteralPath $registry -Value $original -NoNewline
    $global:LASTEXITCODE = 0
}
