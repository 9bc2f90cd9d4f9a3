#Requires -Version 7.4
<#
.SYNOPSIS
    Runs tests/Pester/*.Tests.ps1 in this (fresh) pwsh and writes a JSON summary for build.ps1.

.DESCRIPTION
    build.ps1 starts this script in a new `pwsh -NoProfile -NonInteractive` whose PSModulePath holds only
    $PSHOME/Modules and output/Modules (Pester from NuGet), and sets $env:INFRA_RELOCATION_MODULE to the built
    manifest. The tests import the built module themselves (tests/Pester/common.ps1).
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $TestPath,
    [Parameter(Mandatory)] [string] $SummaryPath,
    [string] $ResultPath,
    # Comma-separated wildcards matched against the test file names (without .Tests.ps1).
    [string] $Filter
)

$ErrorActionPreference = 'Stop'
Import-Module Pester -RequiredVersion 5.7.1

$files = @(Get-ChildItem $TestPath -Filter '*.Tests.ps1' | Sort-Object Name)
if ($Filter) {
    $patterns = $Filter -split ',' | ForEach-Object { $_.Trim() } | Where-Object { $_ }
    $files = @($files | Where-Object { $name = $_.Name -replace '\.Tests\.ps1$'; $patterns.Where({ $name -like $_ }).Count -gt 0 })
}

function ConvertTo-PrintableText([string] $Text) {
    [regex]::Replace($Text, '[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]', { '\u{0:x4}' -f [int][char]$args[0].Value })
}

$failures = [Collections.Generic.List[string]]::new()
$passed = 0
$failed = 0
if ($files.Count -eq 0) {
    $failures.Add("no Pester file under $TestPath matches '$Filter'.")
    $failed = 1
} else {
    $config = New-PesterConfiguration
    $config.Run.Path = $files.FullName
    $config.Run.PassThru = $true
    $config.Output.Verbosity = 'Detailed'
    $result = Invoke-Pester -Configuration $config
    if ($null -eq $result) {
        # Pester prints a failure of its own and returns nothing: that is a red run.
        $result = [pscustomobject]@{ PassedCount = 0; FailedCount = 1; FailedBlocksCount = 0; FailedContainersCount = 0; Failed = @(); FailedBlocks = @(); FailedContainers = @() }
        $failures.Add('Pester returned no result (its own error is printed above).')
    }
    # Failure messages can quote terminal output; XML 1.0 cannot hold its control characters, and Pester would
    # throw away the whole result when its own report writer meets one. Show them as \uXXXX instead.
    $errorRecords = @($result.Failed; $result.FailedBlocks; $result.FailedContainers) | ForEach-Object { $_.ErrorRecord }
    foreach ($record in $errorRecords) {
        foreach ($name in 'DisplayErrorMessage', 'DisplayStackTrace') {
            if ($record.PSObject.Properties[$name]) { $record.$name = ConvertTo-PrintableText $record.$name }
        }
    }
    if ($ResultPath -and $result -is [Pester.Run]) {
        # The report is a by-product: failing to write it is a warning, never a lost or changed test result.
        try { $result | Export-NUnitReport -Path $ResultPath }
        catch { Write-Warning "The NUnit report $ResultPath could not be written: $($_.Exception.Message)" }
    }
    $passed = $result.PassedCount
    $failed = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
    foreach ($test in $result.Failed) {
        $message = ($test.ErrorRecord | ForEach-Object { $_.Exception.Message }) -join ' | '
        $failures.Add("$($test.ExpandedPath): $(ConvertTo-PrintableText $message)")
    }
    foreach ($block in $result.FailedBlocks) {
        $failures.Add("$($block.ExpandedPath) (setup/teardown): $(($block.ErrorRecord | ForEach-Object { $_.Exception.Message }) -join ' | ')")
    }
    foreach ($container in $result.FailedContainers) {
        $failures.Add("$($container.Item) (file failed to run): $(($container.ErrorRecord | ForEach-Object { $_.Exception.Message }) -join ' | ')")
    }
}

[ordered]@{ Passed = $passed; Failed = $failed; Failures = $failures } |
    ConvertTo-Json -Depth 4 | Set-Content -LiteralPath $SummaryPath -Encoding utf8NoBOM
exit ([int]($failed -gt 0))
