# Demo step: a new estate in an existing repository, ready for its first relocation.
# Runs inside tools/Invoke-Demo.ps1; the new estate is a temp folder, removed at the end of the step.

Write-DemoStep 'Make an existing repository an estate'
$NewRepository = New-Item -ItemType Directory (Join-Path ([IO.Path]::GetTempPath()) "infra-relocation-new-$([guid]::NewGuid().ToString('n').Substring(0, 8))")
try {
    Write-DemoCommand 'New-RelocationEstate -Path $NewRepository -ChangeId CHG-2027-0001 -Owner @platform-ops'
    New-RelocationEstate -Path $NewRepository -ChangeId CHG-2027-0001 -Owner '@platform-ops' | Format-Table | Out-Host
    Write-DemoCommand 'Test-RelocationManifest -Root $NewRepository'
    $findings = @(Test-RelocationManifest -Root $NewRepository | Where-Object { $_ -is [InfraRelocation.RelocationFinding] })
    Write-Host "$($findings.Count) finding(s): the skeleton is a valid estate; fill it in with your hosts and services."
    if ($findings) { throw 'The scaffolded estate has findings.' }
} finally {
    Remove-Item $NewRepository -Recurse -Force -ErrorAction Ignore
}
