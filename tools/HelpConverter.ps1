#Requires -Version 7.4
<#
.SYNOPSIS
    Converts the PlatyPS-schema (2.0.0) Markdown help in docs/en-US to MAML, and about_*.md to about_*.help.txt.

.DESCRIPTION
    PlatyPS is not served to us, so this is our own converter on a real Markdown parser: Markdig, which ships with
    pwsh (tools/HelpMarkdown.psm1 reads the pages). The build runs it in a fresh pwsh that imports the built module
    (-ModulePath), because the words come from the pages but the facts come from the compiled cmdlets: each syntax
    block and each parameter's type, mandatory flag, position, pipeline input, aliases and parameter sets are taken
    from the cmdlet, so help can never state a parameter the cmdlet does not have. Pages whose yaml blocks
    disagree with the cmdlet fail Help.Tests.ps1.

      docs/en-US/<Verb-Noun>.md    -> one command:command in <OutputPath>/<external help file>
      docs/en-US/about_<Topic>.md  -> <OutputPath>/about_<Topic>.help.txt
      docs/en-US/<Module>.md       -> skipped (module page, front matter has "Module Guid")
      docs/en-US/_*.md             -> skipped (templates)

    The MAML element order and namespaces follow the schema PlatyPS writes. Errors name the file and line.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $SourcePath,
    [Parameter(Mandatory)] [string] $OutputPath,
    # The built module's manifest; its cmdlets supply syntax and parameter facts.
    [Parameter(Mandatory)] [string] $ModulePath
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
Import-Module (Join-Path $PSScriptRoot 'HelpMarkdown.psm1')
$module = Import-Module $ModulePath -PassThru

$ns = @{
    maml    = 'http://schemas.microsoft.com/maml/2004/10'
    command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
    dev     = 'http://schemas.microsoft.com/maml/dev/2004/10'
}

function Write-Paras([Xml.XmlWriter] $W, [string[]] $Paras) {
    foreach ($para in $Paras) { $W.WriteElementString('maml', 'para', $ns.maml, $para) }
}

function Write-Description([Xml.XmlWriter] $W, [string[]] $Paras) {
    $W.WriteStartElement('maml', 'description', $ns.maml)
    Write-Paras $W $Paras
    $W.WriteEndElement()
}

function Write-Parameter([Xml.XmlWriter] $W, [hashtable] $P, [bool] $InSyntax) {
    # $P: Name, Type, Required, Pipeline, Position, Aliases, Globbing, Default, Description.
    $isSwitch = $P.Type -eq 'SwitchParameter'
    $W.WriteStartElement('command', 'parameter', $ns.command)
    $W.WriteAttributeString('required', $P.Required.ToLowerInvariant())
    $W.WriteAttributeString('variableLength', 'true')
    $W.WriteAttributeString('globbing', $P.Globbing.ToLowerInvariant())
    $W.WriteAttributeString('pipelineInput', $P.Pipeline)
    $W.WriteAttributeString('position', $(if ($P.Position -eq 'Named') { 'named' } else { $P.Position }))
    $W.WriteAttributeString('aliases', $(if ($P.Aliases) { $P.Aliases -join ', ' } else { 'none' }))
    $W.WriteElementString('maml', 'name', $ns.maml, $P.Name)
    Write-Description $W $P.Description
    if (-not ($InSyntax -and $isSwitch)) {
        $W.WriteStartElement('command', 'parameterValue', $ns.command)
        $W.WriteAttributeString('required', "$(-not $isSwitch)".ToLowerInvariant())
        $W.WriteAttributeString('variableLength', 'false')
        $W.WriteString($P.Type)
        $W.WriteEndElement()
    }
    $W.WriteStartElement('dev', 'type', $ns.dev)
    $W.WriteElementString('maml', 'name', $ns.maml, $P.Type)
    $W.WriteElementString('maml', 'uri', $ns.maml, '')
    $W.WriteEndElement()
    $W.WriteElementString('dev', 'defaultValue', $ns.dev, $P.Default)
    $W.WriteEndElement()
}

function Get-ParameterEntry($Page, $Fact, [string] $Set) {
    # One parameter as MAML needs it: facts from the cmdlet ($Set: one parameter set, or all of them merged),
    # words (description, default value, wildcards) from the page.
    $doc = $Page.Parameters | Where-Object Name -EQ $Fact.Name | Select-Object -First 1
    $yaml = if ($doc) { $doc.Yaml[0] } else { @{} }
    $views = @(if ($Set) { @($Fact.Sets[$Set], $Fact.Sets['(All)']) | Where-Object { $_ } | Select-Object -First 1 } else { $Fact.Sets.Values })
    $how = @($views | ForEach-Object { if ($_.Pipeline -match '\((.+)\)') { $Matches[1] -split ',\s*' } } | Select-Object -Unique)
    @{
        Name        = $Fact.Name
        Type        = $Fact.Type
        Required    = if (@($views | Where-Object Required -EQ 'True')) { 'True' } else { 'False' }
        Pipeline    = if ($how) { "True ($($how -join ', '))" } else { 'False' }
        Position    = $views[0].Position
        Aliases     = $Fact.Aliases
        Globbing    = if ($yaml['Accept wildcard characters'] -eq 'True') { 'True' } else { 'False' }
        Default     = if ($yaml['Default value']) { $yaml['Default value'] } else { 'None' }
        Description = if ($doc) { $doc.Description } else { @() }
    }
}

function Write-Command([Xml.XmlWriter] $W, $Page, [Management.Automation.CommandInfo] $Command) {
    $facts = @(Get-ParameterFact $Command)
    $verb, $noun = $Page.Name -split '-', 2
    $W.WriteStartElement('command', 'command', $ns.command)
    $W.WriteStartElement('command', 'details', $ns.command)
    $W.WriteElementString('command', 'name', $ns.command, $Page.Name)
    $W.WriteElementString('command', 'verb', $ns.command, $verb)
    $W.WriteElementString('command', 'noun', $ns.command, $noun)
    Write-Description $W $Page.Synopsis
    $W.WriteEndElement()
    Write-Description $W $Page.Description

    # Syntax: one item per parameter set of the cmdlet, positional parameters first, the way PowerShell prints it.
    $W.WriteStartElement('command', 'syntax', $ns.command)
    foreach ($set in $Command.ParameterSets) {
        $W.WriteStartElement('command', 'syntaxItem', $ns.command)
        $W.WriteElementString('maml', 'name', $ns.maml, $Page.Name)
        $setName = if ($set.Name -eq '__AllParameterSets') { '(All)' } else { $set.Name }
        $entries = @($facts | Where-Object { $_.Sets.Contains($setName) -or $_.Sets.Contains('(All)') } |
                ForEach-Object { Get-ParameterEntry $Page $_ $setName } |
                Sort-Object { if ($_.Position -eq 'Named') { [int]::MaxValue } else { [int]$_.Position } }, { $_.Required -ne 'True' })
        foreach ($entry in $entries) { Write-Parameter $W $entry $true }
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    # Parameters: in the page's order, then any the page does not describe.
    $W.WriteStartElement('command', 'parameters', $ns.command)
    $order = @($Page.Parameters | ForEach-Object Name)
    foreach ($fact in $facts | Sort-Object { $i = [array]::IndexOf($order, $_.Name); if ($i -lt 0) { [int]::MaxValue } else { $i } }) {
        Write-Parameter $W (Get-ParameterEntry $Page $fact $null) $false
    }
    $W.WriteEndElement()

    foreach ($kind in @(@('inputTypes', 'inputType', $Page.Inputs), @('returnValues', 'returnValue', $Page.Outputs))) {
        $W.WriteStartElement('command', $kind[0], $ns.command)
        foreach ($item in $kind[2]) {
            $W.WriteStartElement('command', $kind[1], $ns.command)
            $W.WriteStartElement('dev', 'type', $ns.dev)
            $W.WriteElementString('maml', 'name', $ns.maml, $item.Type)
            $W.WriteEndElement()
            Write-Description $W $item.Description
            $W.WriteEndElement()
        }
        $W.WriteEndElement()
    }

    $W.WriteStartElement('maml', 'alertSet', $ns.maml)
    $W.WriteStartElement('maml', 'alert', $ns.maml)
    Write-Paras $W $Page.Notes
    $W.WriteEndElement()
    $W.WriteEndElement()

    $W.WriteStartElement('command', 'examples', $ns.command)
    foreach ($example in $Page.Examples) {
        $W.WriteStartElement('command', 'example', $ns.command)
        $W.WriteElementString('maml', 'title', $ns.maml, "---------- $($example.Title) ----------")
        $W.WriteStartElement('maml', 'introduction', $ns.maml)
        Write-Paras $W $example.Intro
        $W.WriteEndElement()
        $W.WriteElementString('dev', 'code', $ns.dev, $example.Code)
        $W.WriteStartElement('dev', 'remarks', $ns.dev)
        Write-Paras $W $example.Remarks
        $W.WriteEndElement()
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    $W.WriteStartElement('maml', 'relatedLinks', $ns.maml)
    foreach ($link in $Page.Links) {
        $W.WriteStartElement('maml', 'navigationLink', $ns.maml)
        $W.WriteElementString('maml', 'linkText', $ns.maml, $link.Text)
        $W.WriteElementString('maml', 'uri', $ns.maml, $link.Uri)
        $W.WriteEndElement()
    }
    $W.WriteEndElement()
    $W.WriteEndElement()
}

function Format-Wrapped([string] $Text, [string] $Indent, [string] $NextIndent = $Indent, [int] $Width = 80) {
    $lines = [Collections.Generic.List[string]]::new()
    $line = ''
    $current = $Indent
    foreach ($word in $Text -split '\s+' | Where-Object { $_ }) {
        if ($line -and ($current.Length + $line.Length + 1 + $word.Length) -gt $Width) {
            $lines.Add($current + $line); $line = $word; $current = $NextIndent
        }
        elseif ($line) { $line += " $word" }
        else { $line = $word }
    }
    if ($line) { $lines.Add($current + $line) }
    $lines
}

function Convert-AboutPage([string] $File, [string] $Destination) {
    # about_*.md -> about_*.help.txt: '# about_X' becomes the TOPIC, '## HEADING' a heading at column 0,
    # '### Name' (an entry, such as an error id) keeps its case at column 2, text is wrapped at 80 columns and
    # indented 4 spaces, code is indented 8, tables stay as written.
    $out = [Collections.Generic.List[string]]::new()
    $gap = { if ($out.Count -and $out[$out.Count - 1] -ne '') { $out.Add('') } }
    foreach ($block in (Read-HelpPage $File).Blocks) {
        switch ($block.Kind) {
            'Heading' {
                if ($block.Level -eq 1) { $out.Add('TOPIC'); $out.Add("    $($block.Text)"); continue }
                & $gap
                $out.Add($(if ($block.Level -eq 2) { $block.Text.ToUpperInvariant() } else { "  $($block.Text)" }))
            }
            'Code' { foreach ($line in $block.Text -split "`n") { $out.Add(('        ' + $line).TrimEnd()) }; $out.Add('') }
            'Table' { foreach ($line in $block.Text -split "`n") { $out.Add('    ' + $line.Trim()) }; $out.Add('') }
            'List' {
                foreach ($item in $block.Items) {
                    $hang = ' ' * ($item.IndexOf(' ') + 1)
                    foreach ($line in Format-Wrapped $item '    ' ('    ' + $hang)) { $out.Add($line) }
                }
                $out.Add('')
            }
            default { foreach ($line in Format-Wrapped $block.Text '    ') { $out.Add($line) }; $out.Add('') }
        }
    }
    while ($out.Count -and $out[$out.Count - 1] -eq '') { $out.RemoveAt($out.Count - 1) }
    [IO.File]::WriteAllLines($Destination, $out, [Text.UTF8Encoding]::new($false))
}

# ---------------------------------------------------------------------------------------------------------
New-Item -ItemType Directory -Force $OutputPath | Out-Null
$pages = @{}
foreach ($file in Get-ChildItem $SourcePath -Filter '*.md' | Sort-Object Name) {
    if ($file.Name.StartsWith('_')) { continue }
    if ($file.BaseName -like 'about_*') {
        Convert-AboutPage $file.FullName (Join-Path $OutputPath "$($file.BaseName).help.txt")
        Write-Host "    $($file.Name) -> $($file.BaseName).help.txt"
        continue
    }
    if ((Read-HelpPage $file.FullName).Meta.Contains('Module Guid')) { continue }  # the module page
    $page = Read-CommandPage $file.FullName
    if (-not $pages.ContainsKey($page.HelpFile)) { $pages[$page.HelpFile] = [Collections.Generic.List[object]]::new() }
    $pages[$page.HelpFile].Add($page)
}

$commands = @{}
foreach ($command in $module.ExportedCmdlets.Values) { $commands[$command.Name] = $command }
$documented = @($pages.Values | ForEach-Object { $_ } | ForEach-Object Name)
foreach ($name in $commands.Keys | Where-Object { $_ -notin $documented }) {
    Write-Warning "No help page docs/en-US/$name.md for exported cmdlet $name."
}

foreach ($helpFile in $pages.Keys) {
    $target = Join-Path $OutputPath $helpFile
    $settings = [Xml.XmlWriterSettings]@{ Indent = $true; Encoding = [Text.UTF8Encoding]::new($false) }
    $writer = [Xml.XmlWriter]::Create($target, $settings)
    $count = 0
    try {
        $writer.WriteStartDocument()
        $writer.WriteStartElement('helpItems')
        $writer.WriteAttributeString('schema', 'maml')
        $writer.WriteAttributeString('xmlns', 'maml', $null, $ns.maml)
        $writer.WriteAttributeString('xmlns', 'command', $null, $ns.command)
        $writer.WriteAttributeString('xmlns', 'dev', $null, $ns.dev)
        foreach ($page in $pages[$helpFile]) {
            if (-not $commands.ContainsKey($page.Name)) {
                Write-Warning "$($page.Path) documents $($page.Name), which the module does not export; skipped."
                continue
            }
            Write-Command $writer $page $commands[$page.Name]
            $count++
        }
        $writer.WriteEndElement()
        $writer.WriteEndDocument()
    } finally {
        $writer.Dispose()
    }
    Write-Host "    $count cmdlet page(s) -> $helpFile"
}
