# The last step: what to type next, on your own repository (see the README, "Point it at your repository").
Write-DemoStep 'Your turn: the next three commands'
$next = @(
    "Import-Module $ModulePath"
    'Set-Location <your repository>; New-RelocationEstate -ChangeId <your change id>'
    'Test-RelocationManifest; Invoke-RelocationGate'
)
$number = 0
foreach ($command in $next) {
    $number++
    Write-Host ("  {0}. {1}" -f $number, $command)
}
Write-Host '  Then: Get-Help about_InfraRelocation, and Get-Help <cmdlet> -Examples for each step of the protocol.'
