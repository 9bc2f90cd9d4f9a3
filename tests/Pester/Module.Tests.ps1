# The module's shape: manifest, exports, verbs, output types and their views, shipped assemblies.
BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $cmdlets = @((Get-Module InfraRelocation).ExportedCmdlets.Values | ForEach-Object { @{ Name = $_.Name; Verb = $_.Verb } })
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $manifest = Import-PowerShellDataFile $BuiltManifest
    $moduleBase = Split-Path $BuiltManifest
}

Describe 'InfraRelocation manifest' {
    It 'lists its cmdlets explicitly, without wildcards' {
        $manifest.CmdletsToExport | Should -Not -BeNullOrEmpty
        @($manifest.CmdletsToExport | Where-Object { $_ -match '[*?\[]' }) | Should -BeNullOrEmpty
    }

    It 'exports no functions, variables or aliases' {
        @($manifest.FunctionsToExport) | Should -BeNullOrEmpty
        @($manifest.VariablesToExport) | Should -BeNullOrEmpty
        @($manifest.AliasesToExport) | Should -BeNullOrEmpty
    }

    It 'requires PowerShell 7.4 on the Core edition' {
        $manifest.PowerShellVersion | Should -Be '7.4'
        $manifest.CompatiblePSEditions | Should -Be @('Core')
    }

    It 'processes the merged format file, which the build wrote' {
        $manifest.FormatsToProcess | Should -Be @('InfraRelocation.Format.ps1xml')
        Join-Path $moduleBase 'InfraRelocation.Format.ps1xml' | Should -Exist
    }

    It 'exports exactly the cmdlets the manifest lists' {
        $exported = @((Get-Module InfraRelocation).ExportedCmdlets.Keys | Sort-Object)
        $exported | Should -Be @($manifest.CmdletsToExport | Sort-Object)
    }

    It 'ships no System.Management.Automation.dll' {
        Join-Path $moduleBase 'bin' 'System.Management.Automation.dll' | Should -Not -Exist
    }

    It 'ships its help in the file named after the cmdlet assembly' {
        Join-Path $moduleBase 'en-US' 'InfraRelocation.Commands.dll-Help.xml' | Should -Exist
        Join-Path $moduleBase 'en-US' 'about_InfraRelocation.help.txt' | Should -Exist
    }
}

Describe 'Cmdlet <Name>' -ForEach $cmdlets {
    BeforeAll {
        $command = Get-Command $Name -Module InfraRelocation
    }

    It 'uses an approved verb' {
        $Verb | Should -BeIn (Get-Verb).Verb
    }

    It 'is a sealed class named VerbNounCommand' {
        $command.ImplementingType.IsSealed | Should -BeTrue
        $command.ImplementingType.Name | Should -Be (($Name -replace '-', '') + 'Command')
    }

    It 'declares [OutputType]' {
        $command.OutputType | Should -Not -BeNullOrEmpty
    }

    It 'has a format view for every output type of the module' {
        # Plain .NET values (the exit code of -AsExitCode, report text) are formatted by PowerShell itself.
        # A view may be registered for a base type (every receipt shares the RelocationReceipt view).
        foreach ($type in $command.OutputType | Where-Object Name -like 'InfraRelocation.*') {
            $names = @($type.Name)
            for ($t = $type.Type.BaseType; $t -and $t -ne [object]; $t = $t.BaseType) { $names += $t.FullName }
            @($names | Where-Object { Get-FormatData -TypeName $_ }) | Should -Not -BeNullOrEmpty -Because "$($type.Name) needs a view in module/Formats/"
        }
    }
}
