# Onboarding: New-RelocationEstate makes an existing folder an estate that passes validation, keeps what is there,
# and writes nothing under -WhatIf.
BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $suffix = 'InfraRelocation.Commands.Cmdlets'
}

Describe 'New-RelocationEstate' {
    It 'writes every protocol file and the configuration, and the result passes Test-RelocationManifest' {
        $repository = New-Item -ItemType Directory (Join-Path $TestDrive 'repo')
        $files = @(New-RelocationEstate -Path $repository -ChangeId CHG-T-1 -Owner '@team')
        $files.Count | Should -Be 12
        $files.Outcome | Sort-Object -Unique | Should -Be 'Created'
        $files[0].PSObject.TypeNames[0] | Should -Be 'InfraRelocation.Model.ScaffoldedFile'
        foreach ($file in $files) { Test-Path $file.FullPath | Should -BeTrue }

        $estate = @(Get-RelocationEstate -Root $repository)
        @($estate | Where-Object { -not $_.Exists }) | Should -BeNullOrEmpty
        $out = @(Test-RelocationManifest -Root $repository)
        @($out | Where-Object { $_ -is [InfraRelocation.RelocationFinding] }) | Should -BeNullOrEmpty
        (Get-RelocationManifest -Root $repository).ActiveRelocation.ChangeId | Should -Be 'CHG-T-1'
        Get-Content (Join-Path $repository 'ops' 'infra-relocation.yaml') -Raw | Should -Match '(?m)^#   manifest: ops/bindings/infra\.relocation\.plan\.yaml$'
    }

    It 'keeps existing files byte for byte and writes only the missing ones' {
        $repository = New-Item -ItemType Directory (Join-Path $TestDrive 'partial')
        $manifest = Join-Path $repository 'ops' 'bindings' 'infra.relocation.plan.yaml'
        New-Item -ItemType Directory -Force (Split-Path $manifest) | Out-Null
        Set-Content $manifest "# mine`nversion: 1`n" -NoNewline
        $before = (Get-FileHash $manifest).Hash

        $files = @(New-RelocationEstate -Path $repository)
        ($files | Where-Object Outcome -EQ Kept).Path | Should -Be 'ops/bindings/infra.relocation.plan.yaml'
        @($files | Where-Object Outcome -EQ Created).Count | Should -Be 11
        (Get-FileHash $manifest).Hash | Should -Be $before

        $again = @(New-RelocationEstate -Path $repository)
        $again.Outcome | Sort-Object -Unique | Should -Be 'Kept'
    }

    It 'writes nothing with -WhatIf' {
        $repository = New-Item -ItemType Directory (Join-Path $TestDrive 'preview')
        $files = @(New-RelocationEstate -Path $repository -WhatIf)
        $files.Outcome | Sort-Object -Unique | Should -Be 'WouldCreate'
        @(Get-ChildItem $repository -Recurse -Force) | Should -BeNullOrEmpty
    }

    It 'refuses a folder that does not exist, with a recommended action' {
        $missing = Join-Path $TestDrive 'nowhere'
        $err = { New-RelocationEstate -Path $missing -ErrorAction Stop } |
            Should -Throw -ErrorId "EstateFolderNotFound,$suffix.NewRelocationEstateCommand" -PassThru
        $err.ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
        Test-Path $missing | Should -BeFalse
    }
}
