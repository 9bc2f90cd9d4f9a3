# Help quality: every exported cmdlet has real (not auto-generated) help from docs/en-US/<Verb-Noun>.md, whose
# parameters match the compiled cmdlet. Cmdlets are discovered from the built module, so new ones are covered.
BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $skip = [Management.Automation.PSCmdlet]::CommonParameters + [Management.Automation.PSCmdlet]::OptionalCommonParameters
    $cmdlets = @((Get-Module InfraRelocation).ExportedCmdlets.Values | ForEach-Object {
            @{
                Name       = $_.Name
                Parameters = @($_.Parameters.Keys | Where-Object { $_ -notin $skip } | ForEach-Object { @{ Parameter = $_ } })
            }
        })
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    Import-Module (Join-Path $RepoRoot 'tools' 'HelpMarkdown.psm1') -Force

    function Compare-HelpParameter([string] $Name) {
        # What the page's yaml blocks say about each parameter, against the compiled cmdlet: name, type,
        # mandatory, pipeline input and parameter sets. Returns one line per difference, saying what to write.
        $file = "docs/en-US/$Name.md"
        $page = Read-CommandPage (Join-Path $RepoRoot $file)
        $command = Get-Command $Name
        $facts = @(Get-ParameterFact $command)
        $normal = { param($text) (($text -replace '\s+', '') -replace '\((.+)\)', { '(' + ((($_.Groups[1].Value -split ',') | Sort-Object) -join ',') + ')' }).ToLowerInvariant() }
        foreach ($fact in $facts) {
            $groups = $fact.Sets.GetEnumerator() | Group-Object { "$($_.Value.Required)|$($_.Value.Pipeline)" }
            $expected = ($groups | ForEach-Object {
                    $view = $_.Group[0].Value
                    "Type: $($fact.Type); Parameter Sets: $(($_.Group.Key) -join ', '); Required: $($view.Required); Accept pipeline input: $($view.Pipeline)"
                }) -join ' / '
            $doc = $page.Parameters | Where-Object Name -EQ $fact.Name | Select-Object -First 1
            if (-not $doc) { "${file}: add '### -$($fact.Name)' with a yaml block ($expected)"; continue }
            $said = @{}
            foreach ($yaml in $doc.Yaml) {
                if ((& $normal $yaml['Type']) -ne (& $normal $fact.Type)) { "${file}:$($doc.Line): -$($fact.Name) is Type: $($fact.Type), not '$($yaml['Type'])'" }
                foreach ($set in "$($yaml['Parameter Sets'])" -split ',' | ForEach-Object Trim | Where-Object { $_ }) {
                    $said[$set] = "$(& $normal $yaml['Required'])|$(& $normal $yaml['Accept pipeline input'])"
                }
            }
            $actual = @{}
            foreach ($entry in $fact.Sets.GetEnumerator()) { $actual[$entry.Key] = "$(& $normal $entry.Value.Required)|$(& $normal $entry.Value.Pipeline)" }
            $same = $said.Count -eq $actual.Count -and -not @($actual.Keys | Where-Object { $said[$_] -ne $actual[$_] })
            if (-not $same) { "${file}:$($doc.Line): -$($fact.Name)'s yaml must say $expected" }
        }
        $common = [Management.Automation.PSCmdlet]::CommonParameters + [Management.Automation.PSCmdlet]::OptionalCommonParameters
        foreach ($doc in $page.Parameters | Where-Object { $_.Name -notin $facts.Name -and $_.Name -notin $common }) {
            "${file}:$($doc.Line): remove '### -$($doc.Name)': $Name has no such parameter"
        }
        $sets = @($command.ParameterSets | ForEach-Object { "$($_.Name)$(if ($_.IsDefault -or $command.ParameterSets.Count -eq 1) { ' (Default)' })" })
        $written = @($page.SyntaxSets | ForEach-Object { "$($_.Name)$(if ($_.IsDefault) { ' (Default)' })" })
        if ((($sets | Sort-Object) -join '|') -ne (($written | Sort-Object) -join '|')) {
            "${file}: '## SYNTAX' must have one '### <set>' per parameter set: $(($sets | ForEach-Object { "### $_" }) -join ', ')"
        }
    }
}

Describe 'Help for <Name>' -ForEach $cmdlets {
    BeforeAll {
        $help = Get-Help $Name -Full
    }

    It 'has a synopsis written by hand' {
        $help.Synopsis | Should -Not -BeNullOrEmpty
        # Without MAML, pwsh makes the synopsis from the syntax ("Get-X [-P <T>] ...").
        $help.Synopsis.Trim() | Should -Not -BeLike "$Name *"
    }

    It 'has a description' {
        ($help.Description | Out-String).Trim() | Should -Not -BeNullOrEmpty
    }

    It 'has at least one example' {
        @($help.Examples.Example).Count | Should -BeGreaterThan 0
        $help.Examples.Example[0].Code | Should -Not -BeNullOrEmpty
    }

    It 'states every parameter as the cmdlet has it (name, type, mandatory, pipeline input, parameter sets)' {
        $differences = @(Compare-HelpParameter $Name)
        $differences | Should -BeNullOrEmpty
    }

    It 'describes -<Parameter>' -ForEach $Parameters {
        $entry = @($help.Parameters.Parameter) | Where-Object Name -EQ $Parameter
        $entry | Should -Not -BeNullOrEmpty -Because "docs/en-US/$Name.md needs a '### -$Parameter' section"
        ($entry.Description | Out-String).Trim() | Should -Not -BeNullOrEmpty
    }
}

Describe 'about_ topics' {
    It 'cite no test files (a user reads them in a shell, without the repository)' {
        $cited = @(Get-ChildItem (Join-Path $RepoRoot 'docs' 'en-US') -Filter 'about_*.md' | Select-String -Pattern 'tests/|\.Tests\.ps1|Tests\.cs' |
                ForEach-Object { "$($_.Filename):$($_.LineNumber): $($_.Line.Trim())" })
        $cited | Should -BeNullOrEmpty
    }
}

Describe 'about_InfraRelocation' {
    It 'is found by Get-Help and explains the estate root' {
        $text = Get-Help about_InfraRelocation | Out-String
        $text | Should -Match 'ESTATE ROOT'
        $text | Should -Match 'INFRA_RELOCATION_ROOT'
    }
}
