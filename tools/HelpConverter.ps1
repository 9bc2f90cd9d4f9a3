#Requires -Version 7.4
<#
.SYNOPSIS
    Converts PlatyPS-schema (2.0.0) markdown help to MAML and about_*.md to about_*.help.txt.

.DESCRIPTION
    PlatyPS is not available to us, so this is our own small converter for the subset of the schema we write:

      docs/en-US/<Verb-Noun>.md        -> one command:command in <OutputPath>/<external help file>
      docs/en-US/about_<Topic>.md      -> <OutputPath>/about_<Topic>.help.txt
      docs/en-US/<Module>.md           -> skipped (module page, front matter has "Module Guid")
      docs/en-US/_*.md                 -> skipped (templates)

    A cmdlet page has front matter (external help file, Module Name, online version, schema: 2.0.0) and the
    sections SYNOPSIS, SYNTAX, DESCRIPTION, EXAMPLES, PARAMETERS, INPUTS, OUTPUTS, NOTES, RELATED LINKS.
    See docs/en-US/_TEMPLATE.md. Errors name the file and line.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $SourcePath,
    [Parameter(Mandatory)] [string] $OutputPath,
    [string] $ModuleName = 'InfraRelocation',
    # Cmdlets the module exports; a warning names any without a page, and any page for an unknown cmdlet.
    [string[]] $ExpectedCommand = @()
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$ns = @{
    maml    = 'http://schemas.microsoft.com/maml/2004/10'
    command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
    dev     = 'http://schemas.microsoft.com/maml/dev/2004/10'
}

function Split-FrontMatter([string[]] $Lines, [string] $File) {
    # Returns @{ Meta = @{}; Body = lines; Offset = index of the first body line }.
    $meta = [ordered]@{}
    if ($Lines.Count -eq 0 -or $Lines[0].Trim() -ne '---') { return @{ Meta = $meta; Body = $Lines; Offset = 0 } }
    $end = -1
    for ($i = 1; $i -lt $Lines.Count; $i++) {
        if ($Lines[$i].Trim() -eq '---') { $end = $i; break }
        if ($Lines[$i] -match '^\s*([^:#]+?)\s*:\s*(.*)$') { $meta[$Matches[1]] = $Matches[2].Trim().Trim('"', "'") }
    }
    if ($end -lt 0) { throw "${File}:1: front matter is not closed with '---'." }
    $body = if ($end + 1 -lt $Lines.Count) { $Lines[($end + 1)..($Lines.Count - 1)] } else { @() }
    @{ Meta = $meta; Body = $body; Offset = $end + 1 }
}

function Split-Heading([string[]] $Lines, [int] $Level, [int] $Offset) {
    # Splits lines at headings of exactly $Level '#' (ignoring fenced code). Returns ordered list of
    # @{ Title; Lines; Line } where Line is the 1-based line of the heading; text before the first heading has Title ''.
    $marker = '#' * $Level
    $sections = [Collections.Generic.List[object]]::new()
    $current = @{ Title = ''; Lines = [Collections.Generic.List[string]]::new(); Line = $Offset }
    $inFence = $false
    for ($i = 0; $i -lt $Lines.Count; $i++) {
        $line = $Lines[$i]
        if ($line -match '^\s*```') { $inFence = -not $inFence }
        if (-not $inFence -and $line -match "^$marker\s+(.+?)\s*#*\s*$" -and $line -notmatch "^$marker#") {
            $sections.Add($current)
            $current = @{ Title = $Matches[1]; Lines = [Collections.Generic.List[string]]::new(); Line = $Offset + $i + 1 }
            continue
        }
        $current.Lines.Add($line)
    }
    $sections.Add($current)
    $sections
}

function Get-Block([string[]] $Lines) {
    # Splits markdown lines into blocks: @{ Kind = 'para'|'code'; Text; Lang }.
    # Paragraph lines are joined with spaces; list items and code fences keep their own blocks.
    $blocks = [Collections.Generic.List[object]]::new()
    $para = [Collections.Generic.List[string]]::new()
    $flush = {
        if ($para.Count) { $blocks.Add(@{ Kind = 'para'; Text = ($para -join ' ').Trim(); Lang = '' }); $para.Clear() }
    }
    for ($i = 0; $i -lt $Lines.Count; $i++) {
        $line = $Lines[$i]
        if ($line -match '^\s*```\s*(\S*)') {
            & $flush
            $lang = $Matches[1]
            $code = [Collections.Generic.List[string]]::new()
            for ($i++; $i -lt $Lines.Count -and $Lines[$i] -notmatch '^\s*```'; $i++) { $code.Add($Lines[$i]) }
            $blocks.Add(@{ Kind = 'code'; Text = ($code -join "`n"); Lang = $lang })
            continue
        }
        if ($line.Trim() -eq '') { & $flush; continue }
        if ($line -match '^\s*([-*]|\d+\.)\s+') { & $flush }
        $para.Add($line.Trim())
    }
    & $flush
    $blocks
}

function ConvertTo-PlainText([string] $Text) {
    # Help is plain text: keep the words of links, drop emphasis markers, keep `code` as is.
    $Text = [regex]::Replace($Text, '\[([^\]]+)\]\(([^)]+)\)', '$1 ($2)')
    $Text = [regex]::Replace($Text, '(\*\*|__)(.+?)\1', '$2')
    $Text -replace '\\([\\`*_{}\[\]()#+\-.!<>])', '$1'
}

function Get-Para([string[]] $Lines) {
    @(Get-Block $Lines | ForEach-Object { if ($_.Kind -eq 'para') { ConvertTo-PlainText $_.Text } else { $_.Text } })
}

function Read-YamlBlock([string] $Text) {
    $map = @{}
    foreach ($line in $Text -split "`n") {
        if ($line -match '^\s*([^:]+?)\s*:\s*(.*)$') { $map[$Matches[1]] = $Matches[2].Trim() }
    }
    $map
}

function Read-CommandPage([string] $File) {
    $raw = [IO.File]::ReadAllLines($File)
    $front = Split-FrontMatter $raw $File
    if ($front.Meta['schema'] -ne '2.0.0') { throw "${File}:1: front matter must say 'schema: 2.0.0'." }
    $page = [ordered]@{
        File = $File; HelpFile = $front.Meta['external help file']; Name = ''; Synopsis = @(); Description = @()
        SyntaxSets = [Collections.Generic.List[object]]::new(); Examples = [Collections.Generic.List[object]]::new()
        Parameters = [Collections.Generic.List[object]]::new(); Inputs = [Collections.Generic.List[object]]::new()
        Outputs = [Collections.Generic.List[object]]::new(); Notes = @(); Links = [Collections.Generic.List[object]]::new()
    }
    if (-not $page.HelpFile) { throw "${File}:1: front matter has no 'external help file'." }
    $top = Split-Heading $front.Body 1 $front.Offset
    if ($top.Count -lt 2) { throw "${File}: no '# Verb-Noun' title." }
    $page.Name = $top[1].Title
    if ($page.Name -ne [IO.Path]::GetFileNameWithoutExtension($File)) {
        throw "${File}:$($top[1].Line): title '$($page.Name)' does not match the file name."
    }
    foreach ($section in (Split-Heading $top[1].Lines 2 $top[1].Line | Select-Object -Skip 1)) {
        $where = "${File}:$($section.Line)"
        switch ($section.Title.ToUpperInvariant()) {
            'SYNOPSIS' { $page.Synopsis = Get-Para $section.Lines }
            'DESCRIPTION' { $page.Description = Get-Para $section.Lines }
            'SYNTAX' {
                foreach ($set in (Split-Heading $section.Lines 3 $section.Line | Select-Object -Skip 1)) {
                    $page.SyntaxSets.Add(@{ Name = ($set.Title -replace '\s*\(Default\)\s*$', ''); IsDefault = $set.Title -match '\(Default\)' })
                }
            }
            'EXAMPLES' {
                foreach ($example in (Split-Heading $section.Lines 3 $section.Line | Select-Object -Skip 1)) {
                    $blocks = @(Get-Block $example.Lines)
                    $code = @($blocks | Where-Object Kind -EQ 'code')
                    if (-not $code) { throw "${File}:$($example.Line): example '$($example.Title)' has no code block." }
                    $firstCode = [array]::IndexOf($blocks, $code[0])
                    $page.Examples.Add(@{
                            Title   = $example.Title
                            Intro   = @($blocks[0..$firstCode] | Where-Object Kind -EQ 'para' | ForEach-Object { ConvertTo-PlainText $_.Text })
                            Code    = ($code | ForEach-Object Text) -join "`n`n"
                            Remarks = @($blocks | Select-Object -Skip ($firstCode + 1) | ForEach-Object {
                                    if ($_.Kind -eq 'para') { ConvertTo-PlainText $_.Text } else { $_.Text } })
                        })
                }
            }
            'PARAMETERS' {
                foreach ($parameter in (Split-Heading $section.Lines 3 $section.Line | Select-Object -Skip 1)) {
                    if ($parameter.Title -eq 'CommonParameters') { continue }
                    if ($parameter.Title -notmatch '^-(\w+)$') { throw "${File}:$($parameter.Line): parameter heading must be '### -Name'." }
                    $name = $Matches[1]
                    $blocks = @(Get-Block $parameter.Lines)
                    $yaml = @($blocks | Where-Object { $_.Kind -eq 'code' -and $_.Lang -eq 'yaml' })
                    if (-not $yaml) { throw "${File}:$($parameter.Line): parameter -$name has no yaml block." }
                    $meta = @{ Sets = [Collections.Generic.List[string]]::new(); Required = $false }
                    foreach ($block in $yaml) {
                        $map = Read-YamlBlock $block.Text
                        foreach ($key in $map.Keys) { if (-not $meta.ContainsKey($key)) { $meta[$key] = $map[$key] } }
                        foreach ($set in "$($map['Parameter Sets'])" -split ',') { if ($set.Trim()) { $meta.Sets.Add($set.Trim()) } }
                        if ($map['Required'] -eq 'True') { $meta.Required = $true }
                    }
                    $page.Parameters.Add(@{
                            Name         = $name
                            Description  = @($blocks | Where-Object { $_.Kind -eq 'para' } | ForEach-Object { ConvertTo-PlainText $_.Text })
                            Type         = if ($meta['Type']) { $meta['Type'] } else { 'Object' }
                            Sets         = $meta.Sets
                            Aliases      = if ($meta['Aliases'] -and $meta['Aliases'] -ne 'None') { $meta['Aliases'] } else { '' }
                            Required     = $meta.Required
                            Position     = if ($meta['Position'] -match '^\d+$') { $meta['Position'] } else { 'named' }
                            DefaultValue = if ($meta['Default value']) { $meta['Default value'] } else { 'None' }
                            Pipeline     = if ($meta['Accept pipeline input']) { $meta['Accept pipeline input'] } else { 'False' }
                            Globbing     = if ($meta['Accept wildcard characters'] -eq 'True') { 'true' } else { 'false' }
                            Line         = $parameter.Line
                        })
                }
            }
            { $_ -in 'INPUTS', 'OUTPUTS' } {
                $key = if ($_ -eq 'INPUTS') { 'Inputs' } else { 'Outputs' }
                foreach ($type in (Split-Heading $section.Lines 3 $section.Line | Select-Object -Skip 1)) {
                    $page[$key].Add(@{ Type = $type.Title; Description = @(Get-Para $type.Lines) })
                }
            }
            'NOTES' { $page.Notes = Get-Para $section.Lines }
            'RELATED LINKS' {
                foreach ($line in $section.Lines) {
                    if ($line -match '^\s*[-*]?\s*\[([^\]]+)\]\(([^)]*)\)') { $page.Links.Add(@{ Text = $Matches[1]; Uri = $Matches[2] }) }
                }
            }
            default { throw "${where}: unknown section '## $($section.Title)'." }
        }
    }
    if (-not $page.Synopsis) { throw "${File}: '## SYNOPSIS' is empty." }
    if (-not $page.Description) { throw "${File}: '## DESCRIPTION' is empty." }
    foreach ($parameter in $page.Parameters) {
        if (-not $parameter.Description) { throw "${File}:$($parameter.Line): parameter -$($parameter.Name) has no description." }
    }
    $page
}

function Write-Paras([Xml.XmlWriter] $W, [string[]] $Paras) {
    foreach ($para in $Paras) { $W.WriteElementString('maml', 'para', $ns.maml, $para) }
}

function Write-Description([Xml.XmlWriter] $W, [string[]] $Paras) {
    $W.WriteStartElement('maml', 'description', $ns.maml)
    Write-Paras $W $Paras
    $W.WriteEndElement()
}

function Write-Parameter([Xml.XmlWriter] $W, $P, [bool] $InSyntax) {
    $isSwitch = $P.Type -match '^(System\.Management\.Automation\.)?SwitchParameter$'
    $W.WriteStartElement('command', 'parameter', $ns.command)
    $W.WriteAttributeString('required', "$($P.Required)".ToLowerInvariant())
    $W.WriteAttributeString('variableLength', 'true')
    $W.WriteAttributeString('globbing', $P.Globbing)
    $W.WriteAttributeString('pipelineInput', $P.Pipeline)
    $W.WriteAttributeString('position', $P.Position)
    $W.WriteAttributeString('aliases', $(if ($P.Aliases) { $P.Aliases } else { 'none' }))
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
    $W.WriteElementString('dev', 'defaultValue', $ns.dev, $P.DefaultValue)
    $W.WriteEndElement()
}

function Write-Command([Xml.XmlWriter] $W, $Page) {
    $verb, $noun = $Page.Name -split '-', 2
    $W.WriteStartElement('command', 'command', $ns.command)
    $W.WriteStartElement('command', 'details', $ns.command)
    $W.WriteElementString('command', 'name', $ns.command, $Page.Name)
    $W.WriteElementString('command', 'verb', $ns.command, $verb)
    $W.WriteElementString('command', 'noun', $ns.command, $noun)
    Write-Description $W $Page.Synopsis
    $W.WriteEndElement()
    Write-Description $W $Page.Description

    $W.WriteStartElement('command', 'syntax', $ns.command)
    $sets = if ($Page.SyntaxSets.Count) { $Page.SyntaxSets } else { @(@{ Name = '__AllParameterSets'; IsDefault = $true }) }
    foreach ($set in $sets) {
        $W.WriteStartElement('command', 'syntaxItem', $ns.command)
        $W.WriteElementString('maml', 'name', $ns.maml, $Page.Name)
        $inSet = $Page.Parameters | Where-Object {
            $_.Sets.Count -eq 0 -or $_.Sets -contains '(All)' -or $_.Sets -contains $set.Name -or $set.Name -eq '__AllParameterSets'
        }
        # Positional parameters first, in position order, the way PowerShell prints syntax.
        $ordered = @($inSet | Sort-Object { if ($_.Position -eq 'named') { [int]::MaxValue } else { [int]$_.Position } }, { -not $_.Required })
        foreach ($parameter in $ordered) { Write-Parameter $W $parameter $true }
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    $W.WriteStartElement('command', 'parameters', $ns.command)
    foreach ($parameter in $Page.Parameters) { Write-Parameter $W $parameter $false }
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
    # text is wrapped at 80 columns and indented 4 spaces, code is indented 8.
    $front = Split-FrontMatter ([IO.File]::ReadAllLines($File)) $File
    $out = [Collections.Generic.List[string]]::new()
    $inFence = $false
    $para = [Collections.Generic.List[string]]::new()
    $flush = {
        if ($para.Count) {
            $text = ConvertTo-PlainText ($para -join ' ')
            # List items hang: continuation lines line up with the item's text.
            $hang = if ($text -match '^([-*]|\d+\.)\s') { ' ' * ($Matches[0].Length) } else { '' }
            foreach ($l in Format-Wrapped $text '    ' ('    ' + $hang)) { $out.Add($l) }
            $para.Clear()
        }
    }
    foreach ($line in $front.Body) {
        if ($line -match '^\s*```') {
            & $flush
            $inFence = -not $inFence
            continue
        }
        if ($inFence) { $out.Add(('        ' + $line).TrimEnd()); continue }
        if ($line -match '^#\s+(.+)$') { & $flush; $out.Add('TOPIC'); $out.Add("    $($Matches[1].Trim())"); continue }
        if ($line -match '^#{2,}\s+(.+)$') {
            & $flush
            if ($out.Count -and $out[$out.Count - 1] -ne '') { $out.Add('') }
            $out.Add($Matches[1].Trim().ToUpperInvariant())
            continue
        }
        if ($line.Trim() -eq '') {
            & $flush
            if ($out.Count -and $out[$out.Count - 1] -ne '') { $out.Add('') }
            continue
        }
        if ($line -match '^\s*([-*]|\d+\.|\|)\s') { & $flush }
        if ($line -match '^\s*\|') { $out.Add('    ' + $line.Trim()); continue }  # tables stay as they are
        $para.Add($line.Trim())
    }
    & $flush
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
    $head = Split-FrontMatter ([IO.File]::ReadAllLines($file.FullName)) $file.FullName
    if ($head.Meta.Contains('Module Guid')) { continue }  # the module page
    $page = Read-CommandPage $file.FullName
    if (-not $pages.ContainsKey($page.HelpFile)) { $pages[$page.HelpFile] = [Collections.Generic.List[object]]::new() }
    $pages[$page.HelpFile].Add($page)
}

$documented = @($pages.Values | ForEach-Object { $_ } | ForEach-Object Name)
foreach ($name in $ExpectedCommand) {
    if ($name -notin $documented) { Write-Warning "No help page docs/en-US/$name.md for exported cmdlet $name." }
}
foreach ($name in $documented) {
    if ($ExpectedCommand -and $name -notin $ExpectedCommand) { Write-Warning "docs/en-US/$name.md documents a cmdlet the manifest does not export." }
}

foreach ($helpFile in $pages.Keys) {
    $target = Join-Path $OutputPath $helpFile
    $settings = [Xml.XmlWriterSettings]@{ Indent = $true; Encoding = [Text.UTF8Encoding]::new($false) }
    $writer = [Xml.XmlWriter]::Create($target, $settings)
    try {
        $writer.WriteStartDocument()
        $writer.WriteStartElement('helpItems')
        $writer.WriteAttributeString('schema', 'maml')
        $writer.WriteAttributeString('xmlns', 'maml', $null, $ns.maml)
        $writer.WriteAttributeString('xmlns', 'command', $null, $ns.command)
        $writer.WriteAttributeString('xmlns', 'dev', $null, $ns.dev)
        foreach ($page in $pages[$helpFile]) { Write-Command $writer $page }
        $writer.WriteEndElement()
        $writer.WriteEndDocument()
    } finally {
        $writer.Dispose()
    }
    Write-Host "    $($pages[$helpFile].Count) cmdlet page(s) -> $helpFile"
}
