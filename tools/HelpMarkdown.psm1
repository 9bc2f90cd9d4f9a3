#Requires -Version 7.4
<#
.SYNOPSIS
    Reads the help pages in docs/en-US with Markdig (the CommonMark parser that ships with pwsh), for the help
    converter (tools/HelpConverter.ps1) and the help tests.

.DESCRIPTION
    Read-HelpPage returns a page's front matter and its blocks in order (headings, paragraphs, lists, code, tables),
    each with its 1-based line. Read-CommandPage shapes a PlatyPS-schema (2.0.0) cmdlet page into its sections;
    Get-ParameterFact states what a compiled cmdlet says about each parameter, in the words of the pages' yaml blocks.
#>

Set-StrictMode -Version Latest
Add-Type -Path (Join-Path $PSHOME 'Markdig.Signed.dll')

$script:Pipeline = [Markdig.MarkdownExtensions]::UsePipeTables([Markdig.MarkdownExtensions]::UseYamlFrontMatter([Markdig.MarkdownPipelineBuilder]::new())).Build()

function ConvertTo-InlineText($Inline) {
    # Help is plain text: keep the words of emphasis and links (a link's target follows in parentheses),
    # `code` keeps its backticks.
    $text = [Text.StringBuilder]::new()
    for ($node = $Inline; $node; $node = $node.NextSibling) {
        switch ($node) {
            { $_ -is [Markdig.Syntax.Inlines.LiteralInline] } { [void] $text.Append($node.Content.ToString()); break }
            { $_ -is [Markdig.Syntax.Inlines.CodeInline] } { [void] $text.Append('`' + $node.Content + '`'); break }
            { $_ -is [Markdig.Syntax.Inlines.LineBreakInline] } { [void] $text.Append(' '); break }
            { $_ -is [Markdig.Syntax.Inlines.AutolinkInline] } { [void] $text.Append($node.Url); break }
            { $_ -is [Markdig.Syntax.Inlines.HtmlInline] } { [void] $text.Append($node.Tag); break }
            { $_ -is [Markdig.Syntax.Inlines.LinkInline] } {
                $words = ConvertTo-InlineText $node.FirstChild
                [void] $text.Append($(if ($node.Url -and $node.Url -ne $words) { "$words ($($node.Url))" } else { $words }))
                break
            }
            { $_ -is [Markdig.Syntax.Inlines.ContainerInline] } { [void] $text.Append((ConvertTo-InlineText $node.FirstChild)); break }
            default { [void] $text.Append($node.ToString()) }
        }
    }
    $text.ToString()
}

function ConvertTo-Block($Block, [string] $Source) {
    # One Markdig block as @{ Kind = Heading|Para|List|Code|Table|Other; Level; Text; Lang; Items; Line }.
    $line = $Block.Line + 1
    switch ($Block) {
        { $_ -is [Markdig.Syntax.HeadingBlock] } {
            return @{ Kind = 'Heading'; Level = $Block.Level; Text = (ConvertTo-InlineText $Block.Inline.FirstChild).Trim(); Line = $line }
        }
        { $_ -is [Markdig.Syntax.FencedCodeBlock] -or $_ -is [Markdig.Syntax.CodeBlock] } {
            $lang = if ($Block -is [Markdig.Syntax.FencedCodeBlock]) { "$($Block.Info)" } else { '' }
            return @{ Kind = 'Code'; Lang = $lang; Text = $Block.Lines.ToString().TrimEnd("`r", "`n"); Line = $line }
        }
        { $_ -is [Markdig.Syntax.ParagraphBlock] } {
            return @{ Kind = 'Para'; Text = (ConvertTo-InlineText $Block.Inline.FirstChild).Trim(); Line = $line }
        }
        { $_ -is [Markdig.Syntax.ListBlock] } {
            $number = 0
            $items = foreach ($item in $Block) {
                $number++
                $marker = if ($Block.IsOrdered) { "$number." } else { '-' }
                $words = @($item | ForEach-Object { (ConvertTo-Block $_ $Source).Text }) -join ' '
                "$marker $words"
            }
            return @{ Kind = 'List'; Items = @($items); Text = (@($items) -join "`n"); Line = $line }
        }
        { $_ -is [Markdig.Extensions.Tables.Table] } {
            # Tables stay as written: plain text shows them well enough.
            return @{ Kind = 'Table'; Text = $Source.Substring($Block.Span.Start, $Block.Span.Length).TrimEnd(); Line = $line }
        }
        default { return @{ Kind = 'Other'; Text = $Source.Substring($Block.Span.Start, $Block.Span.Length); Line = $line } }
    }
}

function Read-HelpPage {
    <#
    .SYNOPSIS
        Parses a help page: @{ Path; Meta = front matter keys; Blocks = top-level blocks in order }.
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory)] [string] $Path)
    $source = [IO.File]::ReadAllText($Path)
    $document = [Markdig.Markdown]::Parse($source, $script:Pipeline)
    $meta = [ordered]@{}
    $blocks = [Collections.Generic.List[hashtable]]::new()
    foreach ($block in $document) {
        if ($block -is [Markdig.Extensions.Yaml.YamlFrontMatterBlock]) {
            # The front matter is flat "key: value" lines.
            foreach ($entry in $block.Lines.ToString() -split "`n") {
                if ($entry -match '^\s*([^:#]+?)\s*:\s*(.*)$') { $meta[$Matches[1]] = $Matches[2].Trim().Trim('"', "'") }
            }
            continue
        }
        $blocks.Add((ConvertTo-Block $block $source))
    }
    @{ Path = $Path; Meta = $meta; Blocks = $blocks }
}

function Split-Section([object[]] $Blocks, [int] $Level) {
    # Groups blocks under the headings of $Level: @{ Title; Line; Blocks }; blocks before the first one have Title ''.
    $current = @{ Title = ''; Line = 0; Blocks = [Collections.Generic.List[hashtable]]::new() }
    $sections = [Collections.Generic.List[hashtable]]::new()
    foreach ($block in $Blocks) {
        if ($block.Kind -eq 'Heading' -and $block.Level -eq $Level) {
            $sections.Add($current)
            $current = @{ Title = $block.Text; Line = $block.Line; Blocks = [Collections.Generic.List[hashtable]]::new() }
            continue
        }
        $current.Blocks.Add($block)
    }
    $sections.Add($current)
    $sections
}

function Get-Prose([object[]] $Blocks) {
    # Paragraphs, list items and code of a section as help paragraphs.
    @($Blocks | Where-Object { $_ -and $_.Kind -in 'Para', 'List', 'Code', 'Table' } | ForEach-Object Text)
}

function Read-YamlBlock([string] $Text) {
    # A parameter's yaml block: flat "Key: Value" lines.
    $map = [ordered]@{}
    foreach ($line in $Text -split "`n") {
        if ($line -match '^\s*([^:]+?)\s*:\s*(.*)$') { $map[$Matches[1]] = $Matches[2].Trim() }
    }
    $map
}

function Read-CommandPage {
    <#
    .SYNOPSIS
        Reads a PlatyPS-schema (2.0.0) cmdlet page into its sections. Errors name the file and line.
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory)] [string] $Path)
    $help = Read-HelpPage $Path
    if ($help.Meta['schema'] -ne '2.0.0') { throw "${Path}:1: front matter must say 'schema: 2.0.0'." }
    if (-not $help.Meta['external help file']) { throw "${Path}:1: front matter has no 'external help file'." }
    $top = @(Split-Section $help.Blocks 1)
    if ($top.Count -lt 2) { throw "${Path}: no '# Verb-Noun' title." }
    $page = [ordered]@{
        Path = $Path; HelpFile = $help.Meta['external help file']; Name = $top[1].Title; Line = $top[1].Line
        Synopsis = @(); Description = @(); SyntaxSets = [Collections.Generic.List[hashtable]]::new()
        Examples = [Collections.Generic.List[hashtable]]::new(); Parameters = [Collections.Generic.List[hashtable]]::new()
        Inputs = [Collections.Generic.List[hashtable]]::new(); Outputs = [Collections.Generic.List[hashtable]]::new()
        Notes = @(); Links = [Collections.Generic.List[hashtable]]::new()
    }
    if ($page.Name -ne [IO.Path]::GetFileNameWithoutExtension($Path)) {
        throw "${Path}:$($page.Line): title '$($page.Name)' does not match the file name."
    }
    foreach ($section in (Split-Section $top[1].Blocks 2 | Select-Object -Skip 1)) {
        $subsections = @(Split-Section $section.Blocks 3 | Select-Object -Skip 1)
        switch ($section.Title.ToUpperInvariant()) {
            'SYNOPSIS' { $page.Synopsis = Get-Prose $section.Blocks }
            'DESCRIPTION' { $page.Description = Get-Prose $section.Blocks }
            'SYNTAX' {
                foreach ($set in $subsections) {
                    $page.SyntaxSets.Add(@{ Name = ($set.Title -replace '\s*\(Default\)\s*$', ''); IsDefault = $set.Title -match '\(Default\)\s*$'; Line = $set.Line })
                }
            }
            'EXAMPLES' {
                foreach ($example in $subsections) {
                    $code = @($example.Blocks | Where-Object Kind -EQ 'Code')
                    if (-not $code) { throw "${Path}:$($example.Line): example '$($example.Title)' has no code block." }
                    $first = $example.Blocks.IndexOf($code[0])
                    $page.Examples.Add(@{
                            Title   = $example.Title
                            Line    = $example.Line
                            Intro   = @(Get-Prose ($example.Blocks | Select-Object -First $first))
                            Code    = ($code | ForEach-Object Text) -join "`n`n"
                            Remarks = @(Get-Prose ($example.Blocks | Select-Object -Skip ($first + 1)))
                        })
                }
            }
            'PARAMETERS' {
                foreach ($parameter in $subsections) {
                    if ($parameter.Title -eq 'CommonParameters') { continue }
                    if ($parameter.Title -notmatch '^-(\w+)$') { throw "${Path}:$($parameter.Line): parameter heading must be '### -Name'." }
                    $yaml = @($parameter.Blocks | Where-Object { $_.Kind -eq 'Code' -and $_.Lang -eq 'yaml' })
                    if (-not $yaml) { throw "${Path}:$($parameter.Line): parameter -$($Matches[1]) has no yaml block." }
                    $page.Parameters.Add(@{
                            Name        = $Matches[1]
                            Line        = $parameter.Line
                            Description = @($parameter.Blocks | Where-Object { $_.Kind -in 'Para', 'List' } | ForEach-Object Text)
                            Yaml        = @($yaml | ForEach-Object { Read-YamlBlock $_.Text })
                        })
                }
            }
            { $_ -in 'INPUTS', 'OUTPUTS' } {
                $key = if ($_ -eq 'INPUTS') { 'Inputs' } else { 'Outputs' }
                foreach ($type in $subsections) { $page[$key].Add(@{ Type = $type.Title; Description = @(Get-Prose $type.Blocks) }) }
            }
            'NOTES' { $page.Notes = Get-Prose $section.Blocks }
            'RELATED LINKS' {
                foreach ($text in (Get-Prose $section.Blocks) -split "`n") {
                    if ($text -match '^(?:-\s*)?(.+?) \(([^)]*)\)$') { $page.Links.Add(@{ Text = $Matches[1]; Uri = $Matches[2] }) }
                    elseif ($text.Trim()) { $page.Links.Add(@{ Text = $text.Trim('-', ' '); Uri = '' }) }
                }
            }
            default { throw "${Path}:$($section.Line): unknown section '## $($section.Title)'." }
        }
    }
    if (-not $page.Synopsis) { throw "${Path}: '## SYNOPSIS' is empty." }
    if (-not $page.Description) { throw "${Path}: '## DESCRIPTION' is empty." }
    foreach ($parameter in $page.Parameters) {
        if (-not $parameter.Description) { throw "${Path}:$($parameter.Line): parameter -$($parameter.Name) has no description." }
    }
    $page
}

function Format-TypeName([type] $Type) {
    # A parameter type as the pages write it: Int32 for int and int?, String[], SwitchParameter, Dictionary[String,Object].
    $underlying = [Nullable]::GetUnderlyingType($Type)
    if ($underlying) { $Type = $underlying }
    if ($Type.IsArray) { return (Format-TypeName $Type.GetElementType()) + '[]' }
    if ($Type.IsGenericType) {
        $name = $Type.Name -replace '`\d+$', ''
        return "$name[$((@($Type.GetGenericArguments() | ForEach-Object { Format-TypeName $_ })) -join ',')]"
    }
    $Type.Name
}

function Get-ParameterFact {
    <#
    .SYNOPSIS
        What a compiled cmdlet says about each of its parameters (common parameters left out), in the words of the
        pages' yaml blocks: @{ Name; Type; Sets = ordered @{ set name or '(All)' = @{ Required = 'True'|'False';
        Pipeline = 'True (ByValue, ByPropertyName)'|...|'False'; Position = '0'|'Named' } }; Aliases }.
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory)] [Management.Automation.CommandInfo] $Command)
    $common = [Management.Automation.PSCmdlet]::CommonParameters + [Management.Automation.PSCmdlet]::OptionalCommonParameters
    foreach ($parameter in $Command.Parameters.Values) {
        if ($parameter.Name -in $common) { continue }
        $sets = [ordered]@{}
        foreach ($entry in $parameter.ParameterSets.GetEnumerator() | Sort-Object Key) {
            $how = @(if ($entry.Value.ValueFromPipeline) { 'ByValue' }; if ($entry.Value.ValueFromPipelineByPropertyName) { 'ByPropertyName' })
            $name = if ($entry.Key -eq '__AllParameterSets') { '(All)' } else { $entry.Key }
            $sets[$name] = @{
                Required = if ($entry.Value.IsMandatory) { 'True' } else { 'False' }
                Pipeline = if ($how) { "True ($($how -join ', '))" } else { 'False' }
                Position = if ($entry.Value.Position -ge 0) { "$($entry.Value.Position)" } else { 'Named' }
            }
        }
        @{ Name = $parameter.Name; Type = Format-TypeName $parameter.ParameterType; Sets = $sets; Aliases = @($parameter.Aliases) }
    }
}

function Get-HelpExample {
    <#
    .SYNOPSIS
        Every example of the cmdlet pages in a folder: Page (file name), Line, Title, Code, and Needs (the remark
        paragraph that starts with "Needs:", saying what beyond a copy of the sample estate the example needs).
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory)] [string] $Folder)
    foreach ($file in Get-ChildItem $Folder -Filter '*-*.md' | Where-Object Name -NotLike 'about_*') {
        foreach ($example in (Read-CommandPage $file.FullName).Examples) {
            $needs = @($example.Remarks -split "`n" | Where-Object { $_ -match '^Needs:' }) -join ' '
            @{ Page = $file.Name; Line = $example.Line; Title = $example.Title; Code = $example.Code; Needs = $needs }
        }
    }
}

Export-ModuleMember -Function Read-HelpPage, Read-CommandPage, Format-TypeName, Get-ParameterFact, Get-HelpExample
