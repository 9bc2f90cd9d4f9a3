# YamlDotNet and friends load into the module's own AssemblyLoadContext, so another YamlDotNet already in the
# session (powershell-yaml, platyPS, ...) neither breaks the module nor is replaced by ours.
BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $decoy = Join-Path $RepoRoot 'output' 'packages' 'yamldotnet' '16.3.0' 'lib' 'net8.0' 'YamlDotNet.dll'

    # A config file makes Get-RelocationEstate parse YAML, so YamlDotNet really loads.
    $estate = New-TestEstate -Name 'isolation'
    Set-Content (Join-Path $estate 'ops' 'infra-relocation.yaml') "receipts:`n  folder: receipts`n"

    $probe = {
        param($Root)
        $files = @(Get-RelocationEstate -Root $Root)
        $loaded = foreach ($assembly in [AppDomain]::CurrentDomain.GetAssemblies()) {
            if ($assembly.IsDynamic -or -not $assembly.Location) { continue }
            [pscustomobject]@{
                Name     = $assembly.GetName().Name
                Version  = $assembly.GetName().Version.ToString()
                Context  = [Runtime.Loader.AssemblyLoadContext]::GetLoadContext($assembly).Name
                Location = $assembly.Location
            }
        }
        [pscustomobject]@{ FileCount = $files.Count; ManifestExists = ($files | Where-Object Kind -EQ 'Manifest').Exists; Loaded = @($loaded) }
    }
}

Describe 'Assembly isolation' {
    It 'works next to a different YamlDotNet loaded first into the default context' {
        $decoy | Should -Exist -Because 'build.ps1 restores the decoy YamlDotNet 16.3.0 from NuGet'
        $run = Invoke-InFreshPwsh $probe -ArgumentList $estate -Before ([scriptblock]::Create("Add-Type -Path '$decoy'"))
        $run.Errors | Should -BeNullOrEmpty
        $run.ExitCode | Should -Be 0
        $result = $run.Output[0]
        $result.FileCount | Should -Be 11
        $result.ManifestExists | Should -BeTrue

        $yaml = @($result.Loaded | Where-Object Name -EQ 'YamlDotNet')
        $yaml.Count | Should -Be 2
        ($yaml | Where-Object Context -EQ 'Default').Version | Should -BeLike '16.*'
        $ours = $yaml | Where-Object Context -EQ 'InfraRelocation'
        $ours | Should -Not -BeNullOrEmpty
        $ours.Version | Should -Not -BeLike '16.*'
        $ours.Location | Should -BeLike "$(Split-Path $BuiltManifest)*"
    }

    It 'keeps every shipped dependency out of the default context' {
        $run = Invoke-InFreshPwsh $probe -ArgumentList $estate
        $run.Errors | Should -BeNullOrEmpty
        $run.ExitCode | Should -Be 0
        $loaded = $run.Output[0].Loaded
        @($loaded | Where-Object { $_.Name -eq 'YamlDotNet' -and $_.Context -eq 'Default' }) | Should -BeNullOrEmpty
        @($loaded | Where-Object Name -EQ 'YamlDotNet').Context | Should -Be 'InfraRelocation'

        $bin = Join-Path (Split-Path $BuiltManifest) 'bin'
        $fromBin = @($loaded | Where-Object { $_.Location -like "$bin*" })
        # Only the cmdlets (the RootModule) and the public types live in the default context; Core and everything
        # else the module ships, from bin/private/, in its own.
        @($fromBin | Where-Object { $_.Context -eq 'Default' }).Name | Sort-Object | Should -Be @('InfraRelocation', 'InfraRelocation.Commands')
        $private = @($fromBin | Where-Object { $_.Context -eq 'InfraRelocation' })
        $private.Name | Should -Contain 'InfraRelocation.Core'
        $private.Location | Should -BeLike (Join-Path $bin 'private' '*')
    }

    It 'keeps its cmdlets and their load context through Import-Module -Force and Remove-Module' {
        $run = Invoke-InFreshPwsh {
            param($Root, $Manifest)
            $first = @(Get-RelocationEstate -Root $Root).Count
            Import-Module $Manifest -Force
            $forced = @(Get-RelocationEstate -Root $Root).Count
            Remove-Module InfraRelocation
            Import-Module $Manifest
            $again = @(Get-RelocationEstate -Root $Root).Count
            $contexts = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'InfraRelocation.Core' } |
                ForEach-Object { [Runtime.Loader.AssemblyLoadContext]::GetLoadContext($_).Name }
            [pscustomobject]@{ Counts = @($first, $forced, $again); Cmdlets = (Get-Module InfraRelocation).ExportedCmdlets.Count; CoreContexts = @($contexts) }
        } -ArgumentList $estate, $BuiltManifest
        $run.Errors | Should -BeNullOrEmpty
        $run.Output[0].Counts | Should -Be @(11, 11, 11)
        $run.Output[0].Cmdlets | Should -Be (Import-PowerShellDataFile $BuiltManifest).CmdletsToExport.Count
        $run.Output[0].CoreContexts | Should -Be @('InfraRelocation') -Because 'Core loads once, into the module context'
    }
}
