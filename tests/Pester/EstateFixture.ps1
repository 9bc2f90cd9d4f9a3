# Throw-away estate copies and hand edits for Pester tests, the demo and benchmarks (dot-source this file;
# common.ps1 does). Nothing here imports the module.
#
#   $root = New-TestEstate -Name gates               # the sample estate (ops/, docs/governance/) in a fresh folder
#   $copy = New-TestEstate -From $root -Name x       # a whole estate root (with its ledger), as a git clone has it
#   Edit-EstateFile $root ops/bindings/infra.relocation.plan.yaml '^  state: "preflight"' '  state: "cutover"'
#
# Copies go under -Parent, else $TestDrive when Pester provides one, else the temp folder.

$SampleEstate = (Resolve-Path (Join-Path $PSScriptRoot '..' '..')).Path

# Folders of the sample estate that a copy needs (protocol default locations; see about_InfraRelocation).
$EstateFolders = @('ops', 'docs/governance')

function New-TestEstate {
    <#
    .SYNOPSIS
        Copies the sample estate (or, with -From, every file of an estate root) into a fresh folder and returns the
        copy's root.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param([string] $Name = 'estate', [string] $From, [string] $Parent)
    $parent = if ($Parent) { $Parent } elseif ((Get-Variable TestDrive -ValueOnly -ErrorAction Ignore)) { $TestDrive } else { [IO.Path]::GetTempPath() }
    $root = Join-Path $parent "$Name-$([guid]::NewGuid().ToString('n').Substring(0, 8))"
    New-Item -ItemType Directory -Path $root | Out-Null
    if ($From) {
        Get-ChildItem -Force $From | Copy-Item -Destination $root -Recurse
        return $root
    }
    foreach ($folder in $EstateFolders) {
        $source = Join-Path $SampleEstate $folder
        if (Test-Path $source) {
            $target = Join-Path $root $folder
            New-Item -ItemType Directory -Force (Split-Path $target) | Out-Null
            Copy-Item $source $target -Recurse
        }
    }
    $root
}

# A hand edit of one estate file: every match of $Pattern (multiline: ^ and $ match at each line) becomes
# $Replacement. Throws when nothing matches, so a test never runs against an estate it did not set up.
function Edit-EstateFile([string] $Root, [string] $Relative, [string] $Pattern, [string] $Replacement) {
    $path = Join-Path $Root $Relative
    $text = [IO.File]::ReadAllText($path)
    $new = [regex]::Replace($text, $Pattern, $Replacement, [Text.RegularExpressions.RegexOptions]::Multiline)
    if ($new -eq $text) { throw "pattern '$Pattern' not found in $Relative" }
    [IO.File]::WriteAllText($path, $new)
}
