# Help quality: every exported cmdlet has real (not auto-generated) help from docs/en-US/<Verb-Noun>.md.
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

    It 'describes -<Parameter>' -ForEach $Parameters {
        $entry = @($help.Parameters.Parameter) | Where-Object Name -EQ $Parameter
        $entry | Should -Not -BeNullOrEmpty -Because "docs/en-US/$Name.md needs a '### -$Parameter' section"
        ($entry.Description | Out-String).Trim() | Should -Not -BeNullOrEmpty
    }
}

Describe 'about_InfraRelocation' {
    It 'is found by Get-Help and explains the estate root' {
        $text = Get-Help about_InfraRelocation | Out-String
        $text | Should -Match 'ESTATE ROOT'
        $text | Should -Match 'INFRA_RELOCATION_ROOT'
    }
}
