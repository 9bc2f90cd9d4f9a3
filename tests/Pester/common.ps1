# Dot-sourced by every tests/Pester/*.Tests.ps1 (in BeforeDiscovery and BeforeAll, or at the top of the file).
# Imports the BUILT module (output/InfraRelocation/<version>/) once per session and defines:
#   $RepoRoot        the repository root
#   $SampleEstate    the sample estate's root (the repository root holds ops/ and docs/governance/)
#   $BuiltManifest   the built InfraRelocation.psd1
#   New-TestEstate   copy of the sample estate (or -From an estate root) in a fresh temp folder; returns its root
#   Edit-EstateFile  a regex replacement in one estate file (throws when the pattern does not match)
#                    (both from EstateFixture.ps1, which the demo and benchmarks dot-source too)
#   Invoke-InFreshPwsh { ... }   runs a script block in a new pwsh with the module imported

$RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '..' '..')).Path
$BuiltManifest = if ($env:INFRA_RELOCATION_MODULE) {
    $env:INFRA_RELOCATION_MODULE
} else {
    $version = (Import-PowerShellDataFile (Join-Path $RepoRoot 'InfraRelocation.psd1')).ModuleVersion
    Join-Path $RepoRoot 'output' 'InfraRelocation' $version 'InfraRelocation.psd1'
}
if (-not (Test-Path $BuiltManifest)) {
    throw "The built module is missing ($BuiltManifest): run 'dotnet pwsh ./build.ps1 build' first."
}
if (-not (Get-Module InfraRelocation)) {
    Import-Module $BuiltManifest -ErrorAction Stop
}

# New-TestEstate, Edit-EstateFile ($SampleEstate, $EstateFolders): shared with the demo and benchmarks.
. (Join-Path $PSScriptRoot 'EstateFixture.ps1')

function Invoke-InFreshPwsh {
    <#
    .SYNOPSIS
        Runs a script block in a new pwsh -NoProfile -NonInteractive that has imported the built module.
        Returns @{ Output = deserialized output objects; ExitCode; Errors = error strings }.
        The script blocks travel as text, so they cannot see the caller's variables: pass values with
        -ArgumentList (they arrive through param() or $args, serialized like remoting does).
    .EXAMPLE
        $run = Invoke-InFreshPwsh { param($Root) Get-RelocationEstate -Root $Root } -ArgumentList (New-TestEstate)
        $run.ExitCode | Should -Be 0
        $run.Output.Count | Should -Be 11
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory, Position = 0)] [scriptblock] $ScriptBlock,
        [object[]] $ArgumentList = @(),
        # Runs before the module is imported (e.g. to load a conflicting assembly first).
        [scriptblock] $Before = {},
        [switch] $NoImport
    )
    $work = Join-Path ([IO.Path]::GetTempPath()) "ir-fresh-$([guid]::NewGuid().ToString('n'))"
    New-Item -ItemType Directory $work | Out-Null
    try {
        $argsFile = Join-Path $work 'args.xml'
        $outFile = Join-Path $work 'out.xml'
        if ($ArgumentList.Count) { $ArgumentList | Export-Clixml -LiteralPath $argsFile -Depth 5 }
        $import = if ($NoImport) { '' } else { "Import-Module '$($BuiltManifest -replace "'", "''")' -ErrorAction Stop" }
        $script = @"
`$ErrorActionPreference = 'Stop'
try {
    . { $Before }
    $import
    `$arguments = @(if (Test-Path -LiteralPath '$argsFile') { Import-Clixml -LiteralPath '$argsFile' })
    `$output = & { $ScriptBlock } @arguments
    `$output | Export-Clixml -LiteralPath '$outFile' -Depth 5
    exit 0
} catch {
    [Console]::Error.WriteLine((`$_ | Out-String))
    exit 1
}
"@
        $scriptFile = Join-Path $work 'run.ps1'
        Set-Content -LiteralPath $scriptFile $script
        $exe = [Environment]::ProcessPath
        [string[]] $prefix = if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' } else { @() }
        $errFile = Join-Path $work 'err.txt'
        & $exe @prefix -NoProfile -NonInteractive -File $scriptFile 2> $errFile | Out-Null
        $exitCode = $LASTEXITCODE
        [pscustomobject]@{
            Output   = if (Test-Path $outFile) { @(Import-Clixml -LiteralPath $outFile) } else { @() }
            ExitCode = $exitCode
            Errors   = if (Test-Path $errFile) { (Get-Content -LiteralPath $errFile -Raw) } else { '' }
        }
    } finally {
        Remove-Item $work -Recurse -Force -ErrorAction Ignore
    }
}

# The operator's SSOT updates before a planned service moves (the stack registry's deploy target and the health
# binding name the new host), so the mutation guard (D35 on the estate after the move) lets the move through; the
# service registry follows the move itself.
# Kills a child process and its tree (kill -9) and waits for it. A killed runtime cannot remove its IPC files (the
# debugger pipes, the diagnostics socket and pwsh's host pipe) from the temp folder, so they are removed for it.
function Stop-TestProcess([Diagnostics.Process] $Process) {
    $id = $Process.Id
    if (-not $Process.HasExited) { $Process.Kill($true) }
    $Process.WaitForExit()
    foreach ($pattern in "clr-debug-pipe-$id-*", "dotnet-diagnostic-$id-*", "CoreFxPipe_PSHost.*.$id.*") {
        Get-ChildItem ([IO.Path]::GetTempPath()) -Filter $pattern -ErrorAction Ignore | Remove-Item -Force -ErrorAction Ignore
    }
}

function Set-TestSsotReady([string] $Root, [string] $Service, [string] $HostName = 'app-core') {
    foreach ($edit in @(
            @{ File = 'ops/governance/STACK_REGISTRY.yaml'; Pattern = "(stack_id: $Service\n(?:    .*\n)*?    deploy_target: host:)legacy-docker" },
            @{ File = 'ops/bindings/services.health.yaml'; Pattern = "(- id: $Service\n    host: )legacy-docker" })) {
        $path = Join-Path $Root $edit.File
        $text = [IO.File]::ReadAllText($path)
        $new = [regex]::Replace($text, $edit.Pattern, "`${1}$HostName")
        if ($new -eq $text) { throw "Set-TestSsotReady: $Service not found in $($edit.File)" }
        [IO.File]::WriteAllText($path, $new)
    }
}
