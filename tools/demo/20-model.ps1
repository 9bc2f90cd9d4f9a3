# Demo step: the estate model. Read the manifest, validate every file, and look at the receipt ledger.
# Runs inside tools/Invoke-Demo.ps1: $DemoRoot is a throw-away copy of the sample estate.

Write-DemoStep 'Read the relocation manifest as typed objects'
Write-DemoCommand '$manifest = Get-RelocationManifest -Root $DemoRoot; $manifest'
$manifest = Get-RelocationManifest -Root $DemoRoot
$manifest | Format-List | Out-Host

Write-DemoCommand '$manifest.Services | Where-Object Phase -EQ 1'
$manifest.Services | Where-Object Phase -EQ 1 | Format-Table | Out-Host

Write-DemoCommand '$manifest.VmTargets | Select-Object -First 4'
$manifest.VmTargets | Select-Object -First 4 | Format-Table | Out-Host

Write-DemoStep 'Every value knows where it was written'
Write-DemoCommand "(`$manifest.Services | Where-Object Service -EQ 'wiki').LocationOf('to_host')"
($manifest.Services | Where-Object Service -EQ 'wiki').LocationOf('to_host').ToString() | Out-Host

Write-DemoStep 'Validate every file of the estate (clean)'
Write-DemoCommand 'Test-RelocationManifest -Root $DemoRoot'
Test-RelocationManifest -Root $DemoRoot | Format-List Capability, Outcome, Summary, Files -Force | Out-Host

Write-DemoStep 'Break a copy: a typo in a host name and a wrong type'
$path = Join-Path $DemoRoot 'ops/bindings/infra.relocation.plan.yaml'
$original = [IO.File]::ReadAllText($path)
try {
    [IO.File]::WriteAllText($path, $original.Replace('to_host: "mon-core"', 'to_host: "mon-kore"').Replace('vm_id: "212"', 'vm_id: "2l2"'))
    Write-DemoCommand 'Test-RelocationManifest -Root $DemoRoot | Where-Object { $_ -is [InfraRelocation.RelocationFinding] }'
    Test-RelocationManifest -Root $DemoRoot | Where-Object { $_ -is [InfraRelocation.RelocationFinding] } | Format-Table | Out-Host

    Write-DemoCommand 'Test-RelocationManifest -Root $DemoRoot -Strict'
    try {
        Test-RelocationManifest -Root $DemoRoot -Strict | Out-Null
        throw 'Expected RelocationValidationFailed.'
    } catch {
        if ($_.FullyQualifiedErrorId -notlike 'RelocationValidationFailed,*') { throw }
        Write-Host "$($_.FullyQualifiedErrorId)"
    }

    Write-DemoStep 'Malformed YAML: one located error, nothing else happens'
    [IO.File]::WriteAllText($path, $original + "`nbroken: [1, 2`n")
    Write-DemoCommand 'Get-RelocationManifest -Root $DemoRoot'
    try {
        Get-RelocationManifest -Root $DemoRoot | Out-Null
        throw 'Expected YamlSyntaxError.'
    } catch {
        if ($_.FullyQualifiedErrorId -notlike 'YamlSyntaxError,*') { throw }
        Write-Host $_.ErrorDetails.Message
    }
} finally {
    [IO.File]::WriteAllText($path, $original)
}

Write-DemoStep 'The receipt ledger'
# Reading and validating leave no trace; gate runs are evidence, and each appends a hash-chained receipt.
Write-DemoCommand 'Invoke-RelocationParity -Root $DemoRoot; Test-PlacementPolicy -Root $DemoRoot'
Invoke-RelocationParity -Root $DemoRoot | Format-List Capability, Outcome, Summary -Force | Out-Host
Test-PlacementPolicy -Root $DemoRoot | Format-List Capability, Outcome, Summary -Force | Out-Host
Write-DemoCommand 'Get-RelocationReceipt -Root $DemoRoot | Select-Object -Last 3'
Get-RelocationReceipt -Root $DemoRoot | Select-Object -Last 3 | Format-Table | Out-Host

Write-DemoCommand 'Test-RelocationReceiptChain -Root $DemoRoot'
Test-RelocationReceiptChain -Root $DemoRoot | Format-List Capability, IsValid, ReceiptCount, Summary -Force | Out-Host

Write-DemoStep 'A torn ledger (a full disk cut the last write short) is reported by byte offset and repaired'
$demoLedger = Join-Path $DemoRoot 'receipts' 'ledger.jsonl'
[IO.File]::AppendAllText($demoLedger, '{"hash":"0f0f","type":"InfraRelocation.Receipts.Gate')
Write-DemoCommand 'Test-RelocationReceiptChain -Root $DemoRoot'
Test-RelocationReceiptChain -Root $DemoRoot -WarningAction SilentlyContinue | Format-List IsValid, Break, BrokenAtOffset, Summary -Force | Out-Host
Write-DemoCommand 'Repair-RelocationReceiptChain -Root $DemoRoot -Confirm:$false'
Repair-RelocationReceiptChain -Root $DemoRoot -Confirm:$false -WarningAction SilentlyContinue | Format-List Summary, SavedAs -Force | Out-Host
Write-DemoCommand 'Test-RelocationReceiptChain -Root $DemoRoot'
Test-RelocationReceiptChain -Root $DemoRoot | Format-List IsValid, ReceiptCount -Force | Out-Host
