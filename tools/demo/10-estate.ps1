# Demo step: which estate the module resolves, and the protocol files it reads there.
# Runs inside tools/Invoke-Demo.ps1: $DemoRoot is a throw-away copy of the sample estate.

Write-DemoStep 'Resolve the estate from -Root'
Write-DemoCommand 'Get-RelocationEstate -Root $DemoRoot'
Get-RelocationEstate -Root $DemoRoot | Format-Table | Out-Host

Write-DemoStep 'Resolve the estate by walking up from a sub-folder'
$nested = New-Item -ItemType Directory -Force (Join-Path $DemoRoot 'ops' 'bindings')
Push-Location $nested
try {
    Write-DemoCommand "Set-Location $nested; Get-RelocationEstate | Select-Object -First 1 Root, Kind, Exists"
    Get-RelocationEstate | Select-Object -First 1 Root, Kind, Exists | Format-List | Out-Host
} finally {
    Pop-Location
}

Write-DemoStep 'Files the estate is still missing'
Write-DemoCommand 'Get-RelocationEstate -Root $DemoRoot | Where-Object { -not $_.Exists } | Select-Object Kind, Path'
$missing = @(Get-RelocationEstate -Root $DemoRoot | Where-Object { -not $_.Exists })
if ($missing) { $missing | Select-Object Kind, Path | Format-Table | Out-Host } else { Write-Host 'None: every protocol file exists.' }

Write-DemoStep 'A wrong root is a clear error, not a stack trace'
Write-DemoCommand "Get-RelocationEstate -Root (Join-Path `$DemoRoot 'no-such-folder')"
try {
    Get-RelocationEstate -Root (Join-Path $DemoRoot 'no-such-folder')
    throw 'Expected EstateRootNotFound.'
} catch {
    if ($_.FullyQualifiedErrorId -notlike 'EstateRootNotFound,*') { throw }
    Write-Host "$($_.FullyQualifiedErrorId): $($_.Exception.Message)"
}
