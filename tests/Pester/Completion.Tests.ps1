# Argument completion from the estate, through TabExpansion2 (what the console calls on Tab): the estate is found
# from -Root on the command line, $env:INFRA_RELOCATION_ROOT or the current folder, and names are filtered by
# what was typed. Speed is measured by tools/bench/Measure-Completion.ps1, not here.

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:Root = New-TestEstate -Name complete
    Invoke-RelocationGate -Root $Root -AsOf '2026-11-26T00:00:00Z' | Out-Null   # a ledger entry for -Capability

    function Complete([string] $Line) {
        (TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches
    }
}

Describe 'Completers read the estate' {
    It '<Command> -<Parameter> offers <Expected>' -ForEach @(
        @{ Command = 'Set-RelocationServiceStatus'; Parameter = 'Service'; Expected = 'wiki' }
        @{ Command = 'Get-RelocationImpact'; Parameter = 'Service'; Expected = 'wiki' }
        @{ Command = 'Get-RelocationRollbackPlan'; Parameter = 'Service'; Expected = 'wiki' }
        @{ Command = 'Invoke-RelocationPromotion'; Parameter = 'Service'; Expected = 'wiki' }
        @{ Command = 'Set-RelocationServiceStatus -Service wiki'; Parameter = 'Status'; Expected = 'cutover' }
        @{ Command = 'Set-RelocationVmTarget -Hostname app-core'; Parameter = 'Status'; Expected = 'provisioned' }
        @{ Command = 'Get-VmReadiness'; Parameter = 'Hostname'; Expected = 'app-core' }
        @{ Command = 'Initialize-RelocationVm'; Parameter = 'Hostname'; Expected = 'app-web' }
        @{ Command = 'New-ProxmoxVm'; Parameter = 'Profile'; Expected = 'docker-host-v2' }
        @{ Command = 'Get-VmReadiness -Hostname app-core'; Parameter = 'VmId'; Expected = '210' }
        @{ Command = 'Set-HypervisorHostname'; Parameter = 'HostId'; Expected = 'pve-fra1-a' }
        @{ Command = 'Get-RelocationReceipt'; Parameter = 'Capability'; Expected = 'infra.relocation.gate' }
    ) {
        $matches = Complete "$Command -Root '$Root' -$Parameter "
        $matches.CompletionText | Should -Contain $Expected
        $matches | ForEach-Object ResultType | Sort-Object -Unique | Should -Be 'ParameterValue'
    }

    It 'filters by the typed prefix, ignoring case' {
        $texts = (Complete "Set-RelocationServiceStatus -Root '$Root' -Service WI").CompletionText
        $texts | Should -Contain 'wiki'
        $texts | ForEach-Object { $_ | Should -BeLike 'wi*' }
    }

    It 'offers the protocol statuses first' {
        $texts = @((Complete "Set-RelocationServiceStatus -Root '$Root' -Service wiki -Status ").CompletionText)
        $texts[0..3] | Should -Be @('planned', 'cutover', 'migrated', 'complete')
    }

    It 'finds the estate from $env:INFRA_RELOCATION_ROOT' {
        $saved = $env:INFRA_RELOCATION_ROOT
        try {
            $env:INFRA_RELOCATION_ROOT = $Root
            (Complete 'Get-VmReadiness -Hostname ').CompletionText | Should -Contain 'app-core'
        } finally {
            $env:INFRA_RELOCATION_ROOT = $saved
        }
    }

    It 'finds the estate from the current folder' {
        $saved = $env:INFRA_RELOCATION_ROOT
        Push-Location (Join-Path $Root 'ops' 'bindings')
        try {
            $env:INFRA_RELOCATION_ROOT = $null
            (Complete 'Set-RelocationServiceStatus -Service ').CompletionText | Should -Contain 'wiki'
        } finally {
            Pop-Location
            $env:INFRA_RELOCATION_ROOT = $saved
        }
    }

    It 'offers nothing, and fails nothing, outside an estate' {
        $saved = $env:INFRA_RELOCATION_ROOT
        $empty = New-Item -ItemType Directory (Join-Path $TestDrive 'not-an-estate')
        try {
            $env:INFRA_RELOCATION_ROOT = $null
            $matches = Complete "Set-RelocationServiceStatus -Root '$empty' -Service "
            @($matches | Where-Object ResultType -EQ 'ParameterValue') | Should -HaveCount 0
        } finally {
            $env:INFRA_RELOCATION_ROOT = $saved
        }
    }
}
