<#
.SYNOPSIS
    The build's tasks, run by Invoke-Build (restored from NuGet by build.ps1; see tools/BuildTools.csproj).

.DESCRIPTION
    build.ps1 is the front door (`dotnet pwsh ./build.ps1 test`); it restores the tool modules and calls
    `Invoke-Build <task> -File InfraRelocation.build.ps1`. The public tasks are the README's:

      build    BuildManaged (dotnet publish, ReadyToRun), BuildModule (output/InfraRelocation/<version>/), BuildDocs (MAML)
      docs     BuildDocs only
      test     build, UnitTests (every xUnit project under tests/), PesterTests (a fresh pwsh); writes
               output/TestResults/summary.json, from which build.ps1 prints the closing "N passed, N failed"
      package  build, then output/InfraRelocation.<version>.nupkg with Compress-PSResource
      demo     build, then tools/demo/*.ps1 in one fresh pwsh on a temp copy of the sample estate
      bench    build, then tools/bench/*.ps1
      clean    output/ and every bin/obj folder

    The version comes from the root InfraRelocation.psd1 only.
#>
param(
    [ValidateSet('Release', 'Debug')]
    [string] $Configuration = 'Release',

    # test: run only the Pester files whose name matches one of these wildcards (e.g. 'Help', 'Module*').
    [string[]] $Filter,

    # test: run only the xUnit projects ('Unit') or only Pester ('Pester').
    [ValidateSet('All', 'Unit', 'Pester')]
    [string] $Suite = 'All'
)

Set-StrictMode -Version Latest

$RepoRoot = $BuildRoot
$OutputRoot = Join-Path $RepoRoot 'output'
$ModuleName = 'InfraRelocation'
$Version = (Import-PowerShellDataFile (Join-Path $RepoRoot "$ModuleName.psd1")).ModuleVersion
$ModuleOut = Join-Path $OutputRoot $ModuleName $Version
$BuiltManifest = Join-Path $ModuleOut "$ModuleName.psd1"
$ToolModules = Join-Path $OutputRoot 'Modules'
$TestResultsDir = Join-Path $OutputRoot 'TestResults'
$TestSummary = Join-Path $TestResultsDir 'summary.json'
$EmulatorDll = Join-Path $OutputRoot 'emulator' 'InfraRelocation.ProxmoxEmulator.dll'
$TestKitDll = Join-Path $OutputRoot 'testkit' 'InfraRelocation.TestKit.dll'
$TestResults = [Collections.Generic.List[hashtable]]::new()

# A fresh pwsh of the same version as this one. Under `dotnet pwsh` the process is dotnet itself.
$Pwsh = @(
    [Environment]::ProcessPath
    if ([IO.Path]::GetFileNameWithoutExtension([Environment]::ProcessPath) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' }
)

function Invoke-FreshPwsh {
    # Starts a new pwsh (no profile, non-interactive) with the given arguments and returns its exit code.
    param([string[]] $ArgumentList, [hashtable] $Environment = @{})
    $saved = @{}
    foreach ($name in $Environment.Keys) {
        $saved[$name] = [Environment]::GetEnvironmentVariable($name)
        [Environment]::SetEnvironmentVariable($name, $Environment[$name])
    }
    try {
        $prefix = @($Pwsh | Select-Object -Skip 1)
        & $Pwsh[0] @prefix -NoProfile -NonInteractive @ArgumentList | Out-Host
        $LASTEXITCODE
    } finally {
        foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) }
    }
}

function Test-UpToDate([string] $Stamp, [string[]] $Paths) {
    # True when $Stamp records the current source state: the newest file time and a signature of the file list
    # and version, which changes when a file is added, renamed or deleted (Invoke-Build's -Inputs/-Outputs
    # compare times only, so a deleted file would not trigger a rebuild). bin/ and obj/ are ignored.
    $files = @(foreach ($path in $Paths) {
            if (Test-Path $path -PathType Leaf) { Get-Item $path -Force }
            elseif (Test-Path $path) { Get-ChildItem $path -Recurse -File -Force | Where-Object { $_.FullName -notmatch '[\\/](bin|obj)[\\/]' } }
        })
    $newest = ($files | Measure-Object -Property LastWriteTimeUtc -Maximum).Maximum
    $list = ($files.FullName | Sort-Object) -join "`n"
    $script:SourceSignature = [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes("$Version`n$list")))
    (Test-Path $Stamp) -and (Get-Content $Stamp -Raw).Trim() -eq $script:SourceSignature -and (Get-Item $Stamp).LastWriteTimeUtc -ge $newest
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
    [void] $text.AppendLine('<!-- Generated by InfraRelocation.build.ps1 from module/Formats/*.Format.ps1xml. Do not edit. -->')
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

# Synopsis: dotnet publish of the cmdlet assembly and its dependencies (skipped when the sources are unchanged).
task BuildManaged {
    $publishDir = Join-Path $OutputRoot 'publish' $Configuration
    $stamp = Join-Path $OutputRoot 'publish' "$Configuration.stamp"
    $readyToRunDir = Join-Path $OutputRoot 'publish' "$Configuration-ReadyToRun"
    # The error catalog is embedded in the cmdlet assembly (src/InfraRelocation.Commands/Base/ErrorCatalog.cs).
    $inputs = @('src', 'tools/ReadyToRun/ReadyToRun.csproj', 'Directory.Build.props', 'Directory.Packages.props', "$ModuleName.psd1", 'docs/en-US/about_InfraRelocation_Errors.md') |
        ForEach-Object { Join-Path $RepoRoot $_ }
    if (Test-UpToDate $stamp $inputs) {
        Write-Build DarkGray "assemblies up to date ($publishDir)"
        return
    }
    # A clean publish folder, so a dependency removed from a project does not linger in bin/.
    remove $publishDir
    exec { dotnet publish (Join-Path $RepoRoot 'src' 'InfraRelocation.Commands') -c $Configuration "-p:Version=$Version" `
            -o $publishDir --nologo --verbosity quiet --disable-build-servers }
    # The same assemblies with native code for the runtime this pwsh runs on (ReadyToRun; see the project's comment):
    # a cold scheduled gate, the import and the first Tab then run precompiled code instead of JIT-compiling it.
    remove $readyToRunDir
    exec { dotnet publish (Join-Path $RepoRoot 'tools' 'ReadyToRun') -c $Configuration "-p:IlDir=$publishDir" "-p:PowerShellDir=$PSHOME" `
            -o $readyToRunDir --nologo --verbosity quiet --disable-build-servers }
    Set-Content $stamp $script:SourceSignature
}

# Synopsis: lays out output/InfraRelocation/<version>/ (manifest, merged format file, bin/ and bin/private/).
task BuildModule BuildManaged, {
    remove $ModuleOut
    $bin = New-Item -ItemType Directory -Force (Join-Path $ModuleOut 'bin')
    $private = New-Item -ItemType Directory -Force (Join-Path $bin 'private')
    # The cmdlets (the RootModule) and the public types load into the default context from bin/; Core and every
    # third-party assembly into the module's own context from bin/private/ (docs/design/load-context.md).
    $defaultContext = 'InfraRelocation', 'InfraRelocation.Commands'
    foreach ($file in Get-ChildItem (Join-Path $OutputRoot 'publish' $Configuration) -File | Where-Object Extension -In '.dll', '.pdb') {
        Copy-Item $file.FullName -Destination $(if ($file.BaseName -in $defaultContext) { $bin } else { $private })
    }
    # Precompiled copies replace their IL-only originals (same IL and metadata, so the .pdb files still match).
    foreach ($file in Get-ChildItem (Join-Path $OutputRoot 'publish' "$Configuration-ReadyToRun") -Filter '*.dll' -File) {
        $original = @(Join-Path $bin $file.Name; Join-Path $private $file.Name) | Where-Object { Test-Path $_ }
        if ($original) { Copy-Item $file.FullName -Destination $original -Force }
    }
    assert (-not (Get-ChildItem $bin -Recurse -Filter 'System.Management.Automation.dll')) `
        'System.Management.Automation.dll landed in bin/: reference PowerShell with PrivateAssets="all" only.'
    Copy-Item (Join-Path $RepoRoot "$ModuleName.psd1"), (Join-Path $RepoRoot 'LICENSE') $ModuleOut
    # Find-PSResource -CommandName matches PSCommand_<name> tags, and Compress-PSResource takes the tags from the
    # manifest as they are: the built manifest gets one per exported cmdlet (the repository's stays short).
    $commandTags = (Import-PowerShellDataFile $BuiltManifest).CmdletsToExport | ForEach-Object { "'PSCommand_$_'" }
    $text = [regex]::new('(?m)^(\s*Tags\s*=\s*@\()').Replace((Get-Content $BuiltManifest -Raw), '$1' + ($commandTags -join ', ') + ', ', 1)
    Set-Content $BuiltManifest $text -NoNewline -Encoding utf8NoBOM
    assert ((Import-PowerShellDataFile $BuiltManifest).PrivateData.PSData.Tags -contains 'PSCommand_Invoke-RelocationGate') 'The built manifest has no PSCommand_ tags.'
    Merge-FormatFile (Join-Path $ModuleOut "$ModuleName.Format.ps1xml")
    # Editors validate estate files against these (a '# yaml-language-server: $schema=' line; see the README).
    Copy-Item (Join-Path $RepoRoot 'module' 'Schemas') $ModuleOut -Recurse
    # The sample estate (the repository root is its estate root), so a user can try the module without a clone.
    $sample = New-Item -ItemType Directory -Force (Join-Path $ModuleOut 'Samples' 'Estate')
    Copy-Item (Join-Path $RepoRoot 'ops') $sample -Recurse
}

# Synopsis: docs/en-US/*.md to MAML and about_*.help.txt in the output folder (a fresh pwsh: the converter
# imports the built module, whose cmdlets supply syntax and parameter facts).
task BuildDocs {
    $exit = Invoke-FreshPwsh @('-File', (Join-Path $RepoRoot 'tools' 'HelpConverter.ps1'), '-SourcePath', (Join-Path $RepoRoot 'docs' 'en-US'),
        '-OutputPath', (Join-Path $ModuleOut 'en-US'), '-ModulePath', $BuiltManifest)
    assert ($exit -eq 0) "The help converter failed (exit code $exit)."
}

# Synopsis: the module in output/InfraRelocation/<version>/, help included.
task build BuildManaged, BuildModule, BuildDocs, { Write-Build DarkGray $ModuleOut }

# Synopsis: help only (the module must have been built).
task docs BuildDocs

# Synopsis: the Proxmox API emulator (tests/InfraRelocation.ProxmoxEmulator) for Pester and the demo.
task BuildEmulator {
    $project = Join-Path $RepoRoot 'tests' 'InfraRelocation.ProxmoxEmulator'
    $out = Split-Path $EmulatorDll
    $stamp = Join-Path $out 'emulator.stamp'
    if (Test-UpToDate $stamp @($project, (Join-Path $RepoRoot 'Directory.Build.props'), (Join-Path $RepoRoot 'Directory.Packages.props'))) { return }
    exec { dotnet build $project -c $Configuration -o $out --nologo --verbosity quiet --disable-build-servers }
    Set-Content $stamp $script:SourceSignature
}

# Synopsis: the shared test fixtures (tests/InfraRelocation.TestKit: servers, Debian machines) for Pester and the demo.
task BuildTestKit {
    exec { dotnet build (Join-Path $RepoRoot 'tests' 'InfraRelocation.TestKit') -c $Configuration -o (Split-Path $TestKitDll) --nologo --verbosity quiet --disable-build-servers }
}

# Synopsis: every xUnit project under tests/, counted from its TRX file.
task UnitTests -If { $Suite -in 'All', 'Unit' } {
    $projects = Get-ChildItem (Join-Path $RepoRoot 'tests') -Recurse -Filter '*.csproj' |
        Where-Object { (Get-Content $_.FullName -Raw) -match '<PackageReference\s+Include="xunit' }
    foreach ($project in $projects) {
        Write-Build Cyan "xUnit: $($project.BaseName)"
        $result = @{ Passed = 0; Failed = 0; Failures = [Collections.Generic.List[string]]::new() }
        $TestResults.Add($result)
        $trx = Join-Path $TestResultsDir "$($project.BaseName).trx"
        Remove-Item $trx -ErrorAction Ignore
        # Not exec: failing tests are counted, not thrown.
        & dotnet test $project.FullName -c $Configuration "-p:Version=$Version" --nologo --disable-build-servers `
            --logger "trx;LogFileName=$trx" --logger 'console;verbosity=minimal' --results-directory $TestResultsDir | Out-Host
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
}

# Synopsis: Pester in a fresh pwsh whose PSModulePath holds only $PSHOME/Modules and output/Modules.
task PesterTests -If { $Suite -in 'All', 'Pester' } BuildEmulator, BuildTestKit, {
    $summary = Join-Path $TestResultsDir 'Pester.summary.json'
    New-Item -ItemType Directory -Force $TestResultsDir | Out-Null
    Remove-Item $summary -ErrorAction Ignore
    $arguments = @('-File', (Join-Path $RepoRoot 'tools' 'Invoke-PesterTests.ps1'),
        '-TestPath', (Join-Path $RepoRoot 'tests' 'Pester'), '-SummaryPath', $summary,
        '-ResultPath', (Join-Path $TestResultsDir 'Pester.xml'))
    if ($Filter) { $arguments += @('-Filter', ($Filter -join ',')) }
    $exit = Invoke-FreshPwsh $arguments @{
        PSModulePath              = (Join-Path $PSHOME 'Modules') + [IO.Path]::PathSeparator + $ToolModules
        INFRA_RELOCATION_MODULE   = $BuiltManifest
        INFRA_RELOCATION_ROOT     = $null
        INFRA_RELOCATION_EMULATOR = $EmulatorDll
        INFRA_RELOCATION_TESTKIT  = $TestKitDll
    }
    if (-not (Test-Path $summary)) {
        $TestResults.Add(@{ Passed = 0; Failed = 1; Failures = @("[Pester] the runner crashed (exit code $exit, no summary).") })
        return
    }
    $data = Get-Content $summary -Raw | ConvertFrom-Json
    $TestResults.Add(@{ Passed = [int]$data.Passed; Failed = [int]$data.Failed; Failures = @($data.Failures | ForEach-Object { "[Pester] $_" }) })
}

# Synopsis: build, xUnit and Pester; output/TestResults/summary.json sums them (build.ps1 prints it).
task test build, UnitTests, PesterTests, {
    $summary = [ordered]@{
        Passed   = ($TestResults | ForEach-Object { $_.Passed } | Measure-Object -Sum).Sum
        Failed   = ($TestResults | ForEach-Object { $_.Failed } | Measure-Object -Sum).Sum
        Failures = @($TestResults | ForEach-Object { $_.Failures })
    }
    $summary | ConvertTo-Json -Depth 4 | Set-Content $TestSummary -Encoding utf8NoBOM
    assert ($summary.Failed -eq 0) "$($summary.Failed) test(s) failed."
}

# Synopsis: output/InfraRelocation.<version>.nupkg, made by PSResourceGet's Compress-PSResource.
task package build, {
    $nupkg = Join-Path $OutputRoot "$ModuleName.$Version.nupkg"
    Remove-Item $nupkg -ErrorAction Ignore
    Compress-PSResource -Path $ModuleOut -DestinationPath $OutputRoot
    assert (Test-Path $nupkg) "Compress-PSResource did not write $nupkg."
    Write-Build DarkGray $nupkg
}

# Synopsis: tools/demo/*.ps1 in one fresh pwsh, on a temp copy of the sample estate.
task demo build, BuildEmulator, BuildTestKit, {
    $exit = Invoke-FreshPwsh @('-File', (Join-Path $RepoRoot 'tools' 'Invoke-Demo.ps1'), '-ModulePath', $BuiltManifest, '-RepoRoot', $RepoRoot) @{
        INFRA_RELOCATION_ROOT = $null; INFRA_RELOCATION_EMULATOR = $EmulatorDll; INFRA_RELOCATION_TESTKIT = $TestKitDll
    }
    assert ($exit -eq 0) "The demo failed (exit code $exit)."
}

# Synopsis: tools/bench/*.ps1; each gets whichever of ModulePath, RepoRoot, PwshCommand, BenchmarksFile it declares.
# The emulator and the TestKit are built too: Measure-Provision and Measure-SshLatency need them.
task bench build, BuildEmulator, BuildTestKit, {
    $available = @{
        ModulePath     = $BuiltManifest
        RepoRoot       = $RepoRoot
        PwshCommand    = $Pwsh
        BenchmarksFile = (Join-Path $RepoRoot 'docs' 'benchmarks.md')
    }
    foreach ($script in Get-ChildItem (Join-Path $RepoRoot 'tools' 'bench') -Filter '*.ps1' | Sort-Object Name) {
        Write-Build Cyan "Bench: $($script.Name)"
        $declared = (Get-Command $script.FullName).Parameters.Keys
        $arguments = @{}
        foreach ($key in $available.Keys) { if ($key -in $declared) { $arguments[$key] = $available[$key] } }
        & $script.FullName @arguments
    }
}

# Synopsis: removes output/ and every bin/obj folder.
task clean {
    foreach ($path in @($OutputRoot) + @(Get-ChildItem $RepoRoot -Recurse -Directory -Include bin, obj | ForEach-Object FullName)) {
        remove $path
    }
}

task . build
