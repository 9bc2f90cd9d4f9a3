# The package: made by PSResourceGet's Compress-PSResource (as the build's package task does), with the manifest
# metadata a gallery shows, and found by command name in a local file repository.
BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $moduleFolder = Split-Path $BuiltManifest
    $manifest = Import-PowerShellDataFile $BuiltManifest
    $repository = Join-Path $TestDrive 'repository'
    New-Item -ItemType Directory $repository | Out-Null
    Compress-PSResource -Path $moduleFolder -DestinationPath $repository
}

Describe 'The module package' {
    It 'is one .nupkg named after the module and its version' {
        $packages = @(Get-ChildItem $repository -Filter '*.nupkg')
        $packages.Name | Should -Be "InfraRelocation.$($manifest.ModuleVersion).nupkg"
    }

    It 'ships the license, the help, the merged format file and both assembly folders' {
        $zip = [IO.Compression.ZipFile]::OpenRead((Get-ChildItem $repository -Filter '*.nupkg').FullName)
        try {
            $names = $zip.Entries.FullName
            # The RootModule and the public types in bin/, Core and its dependencies in bin/private/.
            $names | Should -Contain "$($manifest.RootModule)"
            $names | Should -Contain 'bin/InfraRelocation.dll'
            $names | Should -Contain 'bin/private/InfraRelocation.Core.dll'
            $names | Should -Contain 'bin/private/YamlDotNet.dll'
            $names | Should -Contain 'LICENSE'
            $names | Should -Contain 'en-US/InfraRelocation.Commands.dll-Help.xml'
            $names | Should -Contain 'en-US/about_InfraRelocation_Errors.help.txt'
            $names | Should -Contain 'InfraRelocation.Format.ps1xml'
        } finally {
            $zip.Dispose()
        }
    }

    It 'ships the sample estate, which is a valid estate' {
        $copy = Join-Path $TestDrive 'sample'
        Copy-Item (Join-Path $moduleFolder 'Samples' 'Estate') $copy -Recurse
        Test-Path (Join-Path $copy 'ops' 'bindings' 'infra.relocation.plan.yaml') | Should -BeTrue
        $out = @(Test-RelocationManifest -Root $copy)
        @($out | Where-Object { $_ -is [InfraRelocation.RelocationFinding] }) | Should -BeNullOrEmpty
        $out[-1].PSObject.TypeNames[0] | Should -Be 'InfraRelocation.Receipts.ManifestValidationReceipt'
    }

    It 'ships a JSON Schema for every estate file of the configuration' {
        $schemas = @(Get-ChildItem (Join-Path $moduleFolder 'Schemas') -Filter '*.schema.json')
        $schemas.Count | Should -Be 11
        foreach ($schema in $schemas) { { Get-Content $schema.FullName -Raw | ConvertFrom-Json } | Should -Not -Throw }
    }

    It 'ships no test-only code (the synthetic estate generator lives in tests/)' {
        foreach ($dll in Get-ChildItem (Join-Path $moduleFolder 'bin') -Recurse -Filter 'InfraRelocation*.dll') {
            Select-String -LiteralPath $dll.FullName -SimpleMatch 'SyntheticEstateGenerator' -Quiet | Should -BeFalse -Because "$($dll.Name) is shipped"
        }
    }

    It 'states its license, and promises no online help it does not have' {
        $manifest.PrivateData.PSData.LicenseUri | Should -Not -BeNullOrEmpty
        foreach ($command in (Get-Module InfraRelocation).ExportedCmdlets.Values) {
            # Without a HelpUri, Get-Help -Online has nothing to open; a page's 'online version:' must then be empty too.
            $command.HelpUri | Should -BeNullOrEmpty -Because "$($command.Name) has no online help page"
            (Get-Content (Join-Path $RepoRoot 'docs' 'en-US' "$($command.Name).md") -TotalCount 6) -match '^online version:\s*\S' |
                Should -BeNullOrEmpty -Because "docs/en-US/$($command.Name).md promises an online version"
        }
    }

    It 'is found by Find-PSResource -CommandName in a local file repository' {
        # PSResourceGet keeps its repository list under $XDG_DATA_HOME (read when the process starts, and only when
        # the folder exists): a fresh pwsh with a temp one, so no user's repository list is touched.
        $data = New-Item -ItemType Directory (Join-Path $TestDrive 'psresourceget-data')
        $saved = $env:XDG_DATA_HOME
        $env:XDG_DATA_HOME = $data.FullName
        try {
            $run = Invoke-InFreshPwsh -NoImport {
                param($Repository)
                Register-PSResourceRepository -Name InfraRelocationTest -Uri $Repository -Trusted
                Find-PSResource -CommandName Invoke-RelocationGate -Repository InfraRelocationTest |
                    ForEach-Object { [pscustomobject]@{ Name = $_.Names -join ','; Package = $_.ParentResource.Name; Version = "$($_.ParentResource.Version)" } }
            } -ArgumentList $repository
        } finally {
            $env:XDG_DATA_HOME = $saved
        }
        Test-Path (Join-Path $data 'PSResourceGet' 'PSResourceRepository.xml') | Should -BeTrue
        $run.Errors | Should -BeNullOrEmpty
        @($run.Output).Count | Should -Be 1
        $run.Output[0].Package | Should -Be 'InfraRelocation'
        $run.Output[0].Version | Should -Be $manifest.ModuleVersion
        $run.Output[0].Name | Should -Match 'Invoke-RelocationGate'
    }
}
