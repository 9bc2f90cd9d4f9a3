#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, documents, tests, packages, demonstrates and benchmarks the InfraRelocation module.

.DESCRIPTION
    One function per task; every task calls the tasks it needs first.

      build    dotnet publish + lay out output/InfraRelocation/<version>/ (includes docs)
      docs     docs/en-US/*.md -> MAML + about_*.help.txt in the output folder
      test     build, then every xUnit project under tests/, then Pester in a fresh pwsh;
               ends with exactly one line "N passed, N failed"
      package  build, then output/InfraRelocation.<version>.nupkg
      demo     build, then tools/demo/*.ps1 in name order, in one fresh pwsh, on a temp copy of the sample estate
      bench    build, then tools/bench/*.ps1

    The version comes from the root InfraRelocation.psd1 only. Tool modules (Pester) come from NuGet through
    tools/BuildTools.csproj into output/packages, never from the PowerShell Gallery.

.EXAMPLE
    dotnet tool restore; dotnet pwsh ./build.ps1 test

.EXAMPLE
    dotnet pwsh ./build.ps1 test -Suite Pester -Filter Help
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('build', 'docs', 'test', 'package', 'demo', 'bench', 'clean')]
    [string] $Task = 'build',

    [ValidateSet('Release', 'Debug')]
    [string] $Configuration = 'Release',

    # test: run only the Pester files whose name matches one of these wildcards (e.g. 'Help', 'Module*').
    [string[]] $Filter,

    # test: run only the xUnit projects ('Unit') or only Pester ('Pester').
    [ValidateSet('All', 'Unit', 'Pester')]
    [string] $Suite = 'All'
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$RepoRoot = $PSScriptRoot
$OutputRoot = Join-Path $RepoRoot 'output'
$ModuleName = 'InfraRelocation'
$Version = (Import-PowerShellDataFile (Join-Path $RepoRoot "$ModuleName.psd1")).ModuleVersion
$ModuleOut = Join-Path $OutputRoot $ModuleName $Version
$BuiltManifest = Join-Path $ModuleOut "$ModuleName.psd1"
$PackagesDir = Join-Path $OutputRoot 'packages'
$ToolModules = Join-Path $OutputRoot 'Modules'
$PesterVersion = '5.7.1'
$script:Done = @{}

# A fresh pwsh of the same version as this one. Under `dotnet pwsh` the process is dotnet itself.
$script:Pwsh = @(
    [Environment]::ProcessPath
    if ([IO.Path]::GetFileNameWithoutExtension([Environment]::ProcessPath) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' }
)

function Write-Step([string] $Message) {
    Write-Host "==> $Message" -ForegroundColor Cyan
}

function Invoke-Native {
    # Runs a native command and fails the task when it fails.
    param([string] $FilePath, [string[]] $ArgumentList)
    & $FilePath @ArgumentList | Out-Host
    if ($LASTEXITCODE -ne 0) { throw "'$FilePath $($ArgumentList -join ' ')' failed with exit code $LASTEXITCODE." }
}

function Invoke-FreshPwsh {
    # Starts a new pwsh (no profile, non-interactive) with the given arguments and returns its exit code.
    param([string[]] $ArgumentList, [hashtable] $Environment = @{})
    $saved = @{}
    foreach ($name in $Environment.Keys) {
        $saved[$name] = [Environment]::GetEnvironmentVariable($name)
        [Environment]::SetEnvironmentVariable($name, $Environment[$name])
    }
    try {
        $exe = $script:Pwsh[0]
        $prefix = @($script:Pwsh | Select-Object -Skip 1)
        & $exe @prefix -NoProfile -NonInteractive @ArgumentList | Out-Host
        $LASTEXITCODE
    } finally {
        foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) }
    }
}

function Invoke-Once([string] $Name, [scriptblock] $Body) {
    if ($script:Done[$Name]) { return }
    & $Body
    $script:Done[$Name] = $true
}

function Get-SourceState([string[]] $Paths) {
    # The newest source file time, and a signature of the file list and version that changes when a file is
    # added, renamed or deleted (bin/ and obj/ are ignored).
    $files = @(foreach ($path in $Paths) {
            # Get-ChildItem -Recurse on a file would search every folder for that name, so files are taken as they are.
            if (Test-Path $path -PathType Leaf) { Get-Item $path -Force }
            elseif (Test-Path $path) { Get-ChildItem $path -Recurse -File -Force | Where-Object { $_.FullName -notmatch '[\\/](bin|obj)[\\/]' } }
        })
    $newest = ($files | Measure-Object -Property LastWriteTimeUtc -Maximum).Maximum
    $list = ($files.FullName | Sort-Object) -join "`n"
    $hash = [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes("$Version`n$list")))
    @{ Newest = $newest; Signature = $hash }
}

function Invoke-RestoreTools {
    # Pester and the decoy YamlDotNet from NuGet into output/packages; Pester is laid out as a module in output/Modules.
    Invoke-Once 'restore' {
        $pesterModule = Join-Path $ToolModules 'Pester' $PesterVersion
        if (-not (Test-Path (Join-Path $pesterModule 'Pester.psd1')) -or
            -not (Test-Path (Join-Path $PackagesDir 'yamldotnet' '16.3.0'))) {
            Write-Step 'Restoring build tools from NuGet (tools/BuildTools.csproj)'
            Invoke-Native dotnet @('restore', (Join-Path $RepoRoot 'tools' 'BuildTools.csproj'), '--packages', $PackagesDir, '--verbosity', 'quiet')
            New-Item -ItemType Directory -Force $pesterModule | Out-Null
            Copy-Item (Join-Path $PackagesDir 'pester' $PesterVersion 'tools' '*') $pesterModule -Recurse -Force
        }
    }
}

function Merge-FormatFile([string] $Destination) {
    # Every area keeps its own module/Formats/<Area>.Format.ps1xml; the module ships one merged file.
    $sections = [ordered]@{ SelectionSets = @(); Controls = @(); ViewDefinitions = @() }
    $viewNames = @{}
    foreach ($file in Get-ChildItem (Join-Path $RepoRoot 'module' 'Formats') -Filter '*.Format.ps1xml' | Sort-Object Name) {
        $doc = [xml](Get-Content $file.FullName -Raw)
        foreach ($section in @($sections.Keys)) {
            $node = $doc.Configuration.SelectSingleNode($section)
            if (-not $node) { continue }
            foreach ($child in $node.ChildNodes) {
                if ($child.NodeType -ne 'Element') { continue }
                if ($section -eq 'ViewDefinitions') {
                    $key = "$($child.Name)|$($child.ViewSelectedBy.InnerXml)"
                    if ($viewNames[$key]) { throw "Format view '$($child.Name)' is defined twice ($($viewNames[$key]), $($file.Name))." }
                    $viewNames[$key] = $file.Name
                }
                $sections[$section] += $child.OuterXml
            }
        }
    }
    $text = [Text.StringBuilder]::new()
    [void] $text.AppendLine('<?xml version="1.0" encoding="utf-8"?>')
    [void] $text.AppendLine('<!-- Generated by build.ps1 from module/Formats/*.Format.ps1xml. Do not edit. -->')
    [void] $text.AppendLine('<Configuration>')
    foreach ($section in $sections.Keys) {
        if ($sections[$section].Count -eq 0) { continue }
        [void] $text.AppendLine("  <$section>")
        foreach ($xml in $sections[$section]) { [void] $text.AppendLine("    $xml") }
        [void] $text.AppendLine("  </$section>")
    }
    [void] $text.AppendLine('</Configuration>')
    $merged = [xml] $text.ToString()   # throws on malformed input
    $settings = [Xml.XmlWriterSettings]@{ Indent = $true; Encoding = [Text.UTF8Encoding]::new($false) }
    $writer = [Xml.XmlWriter]::Create($Destination, $settings)
    try { $merged.Save($writer) } finally { $writer.Dispose() }
}

function Invoke-BuildTask {
    Invoke-Once 'build' {
        Write-Step "Building $ModuleName $Version ($Configuration)"
        $publishDir = Join-Path $OutputRoot 'publish' $Configuration
        $stamp = Join-Path $OutputRoot 'publish' "$Configuration.stamp"
        $inputs = @('src', 'Directory.Build.props', 'Directory.Packages.props', "$ModuleName.psd1") |
            ForEach-Object { Join-Path $RepoRoot $_ }
        $state = Get-SourceState $inputs
        $upToDate = (Test-Path $stamp) -and (Get-Content $stamp -Raw).Trim() -eq $state.Signature -and
            (Get-Item $stamp).LastWriteTimeUtc -ge $state.Newest
        if ($upToDate) {
            Write-Host "    assemblies up to date ($publishDir)"
        } else {
            # A clean publish folder, so a dependency removed from a project does not linger in bin/.
            if (Test-Path $publishDir) { Remove-Item $publishDir -Recurse -Force }
            Invoke-Native dotnet @('publish', (Join-Path $RepoRoot 'src' 'InfraRelocation.Commands'), '-c', $Configuration,
                "-p:Version=$Version", '-o', $publishDir, '--nologo', '--verbosity', 'quiet', '--disable-build-servers')
            Set-Content $stamp $state.Signature
        }

        if (Test-Path $ModuleOut) { Remove-Item $ModuleOut -Recurse -Force }
        $bin = New-Item -ItemType Directory -Force (Join-Path $ModuleOut 'bin')
        Get-ChildItem $publishDir -File | Where-Object Extension -In '.dll', '.pdb' | Copy-Item -Destination $bin
        if (Test-Path (Join-Path $bin 'System.Management.Automation.dll')) {
            throw 'System.Management.Automation.dll landed in bin/: reference PowerShell with PrivateAssets="all" only.'
        }
        Copy-Item (Join-Path $RepoRoot "$ModuleName.psd1") $ModuleOut
        Copy-Item (Join-Path $RepoRoot 'module' "$ModuleName.psm1") $ModuleOut
        Merge-FormatFile (Join-Path $ModuleOut "$ModuleName.Format.ps1xml")
        Invoke-DocsTask
        Write-Host "    $ModuleOut"
    }
}

function Invoke-BuildEmulator {
    # The Proxmox API emulator (tests/InfraRelocation.ProxmoxEmulator) as a process for Pester and the demo:
    # output/emulator/InfraRelocation.ProxmoxEmulator.dll, passed on as $env:INFRA_RELOCATION_EMULATOR.
    Invoke-Once 'emulator' {
        $project = Join-Path $RepoRoot 'tests' 'InfraRelocation.ProxmoxEmulator'
        $out = Join-Path $OutputRoot 'emulator'
        $stamp = Join-Path $out 'emulator.stamp'
        $state = Get-SourceState @($project, (Join-Path $RepoRoot 'Directory.Build.props'), (Join-Path $RepoRoot 'Directory.Packages.props'))
        $upToDate = (Test-Path $stamp) -and (Get-Content $stamp -Raw).Trim() -eq $state.Signature -and
            (Get-Item $stamp).LastWriteTimeUtc -ge $state.Newest
        if (-not $upToDate) {
            Write-Step 'Building the Proxmox emulator'
            Invoke-Native dotnet @('build', $project, '-c', $Configuration, '-o', $out, '--nologo', '--verbosity', 'quiet', '--disable-build-servers')
            Set-Content $stamp $state.Signature
        }
        $script:EmulatorDll = Join-Path $out 'InfraRelocation.ProxmoxEmulator.dll'
    }
    # The shared test fixtures (tests/InfraRelocation.TestKit: servers, Debian machines) for Pester and the demo:
    # output/testkit/InfraRelocation.TestKit.dll, passed on as $env:INFRA_RELOCATION_TESTKIT.
    Invoke-Once 'testkit' {
        $project = Join-Path $RepoRoot 'tests' 'InfraRelocation.TestKit'
        $out = Join-Path $OutputRoot 'testkit'
        Invoke-Native dotnet @('build', $project, '-c', $Configuration, '-o', $out, '--nologo', '--verbosity', 'quiet', '--disable-build-servers')
        $script:TestKitDll = Join-Path $out 'InfraRelocation.TestKit.dll'
    }
}

function Invoke-DocsTask {
    Invoke-Once 'docs' {
        Write-Step 'Converting docs/en-US/*.md to MAML and about_*.help.txt'
        $exported = (Import-PowerShellDataFile (Join-Path $RepoRoot "$ModuleName.psd1")).CmdletsToExport
        & (Join-Path $RepoRoot 'tools' 'HelpConverter.ps1') -SourcePath (Join-Path $RepoRoot 'docs' 'en-US') `
            -OutputPath (Join-Path $ModuleOut 'en-US') -ModuleName $ModuleName -ExpectedCommand $exported
    }
}

function Get-XunitProject {
    Get-ChildItem (Join-Path $RepoRoot 'tests') -Recurse -Filter '*.csproj' |
        Where-Object { (Get-Content $_.FullName -Raw) -match '<PackageReference\s+Include="xunit' }
}

function Invoke-XunitTests {
    # Returns @{ Passed; Failed; Failures = @(text) } summed over every xUnit project under tests/.
    $result = @{ Passed = 0; Failed = 0; Failures = [Collections.Generic.List[string]]::new() }
    $resultsDir = Join-Path $OutputRoot 'TestResults'
    foreach ($project in Get-XunitProject) {
        Write-Step "xUnit: $($project.BaseName)"
        $trx = Join-Path $resultsDir "$($project.BaseName).trx"
        Remove-Item $trx -ErrorAction Ignore
        & dotnet test $project.FullName -c $Configuration "-p:Version=$Version" --nologo --disable-build-servers `
            --logger "trx;LogFileName=$trx" --logger 'console;verbosity=minimal' --results-directory $resultsDir | Out-Host
        $exit = $LASTEXITCODE
        if (-not (Test-Path $trx)) {
            $result.Failed++
            $result.Failures.Add("[xUnit] $($project.BaseName): the runner crashed or did not build (exit code $exit, no TRX).")
            continue
        }
        $doc = [xml](Get-Content $trx -Raw)
        $counters = $doc.SelectSingleNode('//*[local-name()="ResultSummary"]/*[local-name()="Counters"]')
        $count = { param($name) if ($counters) { [int]('0' + $counters.GetAttribute($name)) } else { 0 } }
        $result.Passed += & $count 'passed'
        $failed = (& $count 'failed') + (& $count 'error') + (& $count 'timeout') + (& $count 'aborted')
        $result.Failed += $failed
        foreach ($test in $doc.SelectNodes('//*[local-name()="UnitTestResult"]')) {
            if ($test.GetAttribute('outcome') -in 'Passed', 'NotExecuted') { continue }
            $message = $test.SelectSingleNode('.//*[local-name()="ErrorInfo"]/*[local-name()="Message"]')
            $stack = $test.SelectSingleNode('.//*[local-name()="ErrorInfo"]/*[local-name()="StackTrace"]')
            $text = "$($test.GetAttribute('testName')): $(if ($message) { $message.InnerText.Trim() })"
            if ($stack) { $text += "`n      " + (($stack.InnerText.Trim() -split "`n" | Select-Object -First 3) -join "`n      ") }
            $result.Failures.Add("[xUnit] $text")
        }
        if ($exit -ne 0 -and $failed -eq 0) {
            $result.Failed++
            $result.Failures.Add("[xUnit] $($project.BaseName): dotnet test exited with $exit although no test failed.")
        }
    }
    $result
}

function Invoke-PesterTests {
    # Pester runs in a fresh pwsh whose PSModulePath holds only $PSHOME/Modules and output/Modules (Pester).
    Invoke-RestoreTools
    Invoke-BuildEmulator
    Write-Step 'Pester (fresh pwsh)'
    $summary = Join-Path $OutputRoot 'TestResults' 'Pester.summary.json'
    New-Item -ItemType Directory -Force (Split-Path $summary) | Out-Null
    Remove-Item $summary -ErrorAction Ignore
    $arguments = @('-File', (Join-Path $RepoRoot 'tools' 'Invoke-PesterTests.ps1'),
        '-TestPath', (Join-Path $RepoRoot 'tests' 'Pester'), '-SummaryPath', $summary,
        '-ResultPath', (Join-Path $OutputRoot 'TestResults' 'Pester.xml'))
    if ($Filter) { $arguments += @('-Filter', ($Filter -join ',')) }
    $exit = Invoke-FreshPwsh $arguments @{
        PSModulePath            = (Join-Path $PSHOME 'Modules') + [IO.Path]::PathSeparator + $ToolModules
        INFRA_RELOCATION_MODULE = $BuiltManifest
        INFRA_RELOCATION_ROOT   = $null
        INFRA_RELOCATION_EMULATOR = $script:EmulatorDll
        INFRA_RELOCATION_TESTKIT  = $script:TestKitDll
    }
    if (-not (Test-Path $summary)) {
        return @{ Passed = 0; Failed = 1; Failures = @("[Pester] the runner crashed (exit code $exit, no summary).") }
    }
    $data = Get-Content $summary -Raw | ConvertFrom-Json
    @{ Passed = [int]$data.Passed; Failed = [int]$data.Failed; Failures = @($data.Failures | ForEach-Object { "[Pester] $_" }) }
}

function Invoke-TestTask {
    $results = @()
    try {
        Invoke-BuildTask
        if ($Suite -in 'All', 'Unit') { $results += Invoke-XunitTests }
        if ($Suite -in 'All', 'Pester') { $results += Invoke-PesterTests }
    } catch {
        $results += @{ Passed = 0; Failed = 1; Failures = @("[build] $($_.Exception.Message)") }
    }
    $passed = ($results | Measure-Object -Property { $_.Passed } -Sum).Sum
    $failed = ($results | Measure-Object -Property { $_.Failed } -Sum).Sum
    $failures = @($results | ForEach-Object { $_.Failures })
    if ($failures.Count) {
        Write-Host ''
        Write-Host 'Failures:' -ForegroundColor Red
        foreach ($failure in $failures) { Write-Host "  - $failure" }
        Write-Host ''
    }
    Write-Host "$passed passed, $failed failed"
    if ($failed -gt 0) { exit 1 }
}

function Invoke-PackageTask {
    Invoke-BuildTask
    Write-Step 'Packaging'
    $manifest = Import-PowerShellDataFile $BuiltManifest
    $psData = $manifest.PrivateData.PSData
    $nupkg = Join-Path $OutputRoot "$ModuleName.$Version.nupkg"
    $staging = Join-Path $OutputRoot 'package-staging'
    if (Test-Path $staging) { Remove-Item $staging -Recurse -Force }
    Copy-Item $ModuleOut $staging -Recurse
    $esc = { param($s) [Security.SecurityElement]::Escape([string]$s) }
    @"
<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>$ModuleName</id>
    <version>$Version</version>
    <authors>$(& $esc $manifest.Author)</authors>
    <owners>$(& $esc $manifest.CompanyName)</owners>
    <description>$(& $esc $manifest.Description)</description>
    <copyright>$(& $esc $manifest.Copyright)</copyright>
    <tags>$(& $esc (@($psData.Tags) + 'PSModule' -join ' '))</tags>
    <licenseUrl>$(& $esc $psData.LicenseUri)</licenseUrl>
    <releaseNotes>$(& $esc $psData.ReleaseNotes)</releaseNotes>
  </metadata>
</package>
"@ | Set-Content (Join-Path $staging "$ModuleName.nuspec") -Encoding utf8NoBOM
    # NuGet clients expect an OPC content-types part next to the .nuspec.
    $types = @($staging | Get-ChildItem -Recurse -File | ForEach-Object { $_.Extension.TrimStart('.') } | Sort-Object -Unique) + 'nuspec' |
        Sort-Object -Unique | ForEach-Object { "  <Default Extension=`"$_`" ContentType=`"application/octet`" />" }
    @('<?xml version="1.0" encoding="utf-8"?>', '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">') + $types + '</Types>' |
        Set-Content -LiteralPath (Join-Path $staging '[Content_Types].xml') -Encoding utf8NoBOM
    Remove-Item $nupkg -ErrorAction Ignore
    # A .nupkg is a zip with the .nuspec at its root (the layout PowerShellGet/PSResourceGet publish).
    [IO.Compression.ZipFile]::CreateFromDirectory($staging, $nupkg)
    Remove-Item $staging -Recurse -Force
    Write-Host "    $ModuleOut"
    Write-Host "    $nupkg"
}

function Invoke-DemoTask {
    Invoke-BuildTask
    Invoke-BuildEmulator
    Write-Step 'Demo (fresh pwsh, temp copy of the sample estate)'
    $exit = Invoke-FreshPwsh @('-File', (Join-Path $RepoRoot 'tools' 'Invoke-Demo.ps1'),
        '-ModulePath', $BuiltManifest, '-RepoRoot', $RepoRoot) @{ INFRA_RELOCATION_ROOT = $null; INFRA_RELOCATION_EMULATOR = $script:EmulatorDll; INFRA_RELOCATION_TESTKIT = $script:TestKitDll }
    if ($exit -ne 0) { Write-Host "Demo failed (exit code $exit)." -ForegroundColor Red; exit $exit }
}

function Invoke-BenchTask {
    Invoke-BuildTask
    # Each tools/bench/*.ps1 gets whichever of these parameters it declares.
    $available = @{
        ModulePath     = $BuiltManifest
        RepoRoot       = $RepoRoot
        PwshCommand    = $script:Pwsh
        BenchmarksFile = (Join-Path $RepoRoot 'docs' 'benchmarks.md')
    }
    foreach ($script in Get-ChildItem (Join-Path $RepoRoot 'tools' 'bench') -Filter '*.ps1' | Sort-Object Name) {
        Write-Step "Bench: $($script.Name)"
        $declared = (Get-Command $script.FullName).Parameters.Keys
        $arguments = @{}
        foreach ($key in $available.Keys) { if ($key -in $declared) { $arguments[$key] = $available[$key] } }
        & $script.FullName @arguments
    }
}

function Invoke-CleanTask {
    Write-Step 'Removing output/ and bin/obj folders'
    foreach ($path in @($OutputRoot) + @(Get-ChildItem $RepoRoot -Recurse -Directory -Include bin, obj | ForEach-Object FullName)) {
        if (Test-Path $path) { Remove-Item $path -Recurse -Force }
    }
}

$elapsed = [Diagnostics.Stopwatch]::StartNew()
switch ($Task) {
    'build' { Invoke-BuildTask }
    'docs' { Invoke-DocsTask }
    'test' { Invoke-TestTask }
    'package' { Invoke-PackageTask }
    'demo' { Invoke-DemoTask }
    'bench' { Invoke-BenchTask }
    'clean' { Invoke-CleanTask }
}
if ($Task -ne 'test') { Write-Host ("{0} done in {1:n1} s" -f $Task, $elapsed.Elapsed.TotalSeconds) }
