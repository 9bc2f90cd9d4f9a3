BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $errorSuffix = 'InfraRelocation.Commands.Cmdlets.GetRelocationEstateCommand'
}

Describe 'Get-RelocationEstate' {
    BeforeEach {
        $estate = New-TestEstate
        $savedRoot = $env:INFRA_RELOCATION_ROOT
        $env:INFRA_RELOCATION_ROOT = $null
    }
    AfterEach {
        $env:INFRA_RELOCATION_ROOT = $savedRoot
    }

    It 'lists every protocol file of the estate given by -Root' {
        $files = @(Get-RelocationEstate -Root $estate)
        $files.Count | Should -Be 11
        $files[0].PSObject.TypeNames[0] | Should -Be 'InfraRelocation.Model.EstateFileInfo'
        $manifest = $files | Where-Object Kind -EQ 'Manifest'
        $manifest.Exists | Should -BeTrue
        $manifest.Path | Should -Be 'ops/bindings/infra.relocation.plan.yaml'
        $manifest.Sha256 | Should -Match '^[0-9a-f]{64}$'
        $manifest.Root | Should -Be $estate
    }

    It 'uses $env:INFRA_RELOCATION_ROOT when -Root is omitted' {
        $env:INFRA_RELOCATION_ROOT = $estate
        (Get-RelocationEstate)[0].Root | Should -Be $estate
    }

    It 'walks up from the current location to the estate root' {
        $nested = New-Item -ItemType Directory (Join-Path $estate 'a' 'b')
        Push-Location $nested
        try { (Get-RelocationEstate)[0].Root | Should -Be $estate } finally { Pop-Location }
    }

    It 'fails with EstateRootNotFound for a missing folder' {
        { Get-RelocationEstate -Root (Join-Path $estate 'missing') } |
            Should -Throw -ErrorId "EstateRootNotFound,$errorSuffix"
    }

    It 'locates an unknown key in ops/infra-relocation.yaml' {
        Set-Content (Join-Path $estate 'ops' 'infra-relocation.yaml') "paths:`n  servce_registry: x.yaml`n"
        $err = { Get-RelocationEstate -Root $estate } | Should -Throw -ErrorId "EstateConfigInvalid,$errorSuffix" -PassThru
        $err.ErrorDetails.Message | Should -BeLike 'ops/infra-relocation.yaml:2:3*'
    }
}
