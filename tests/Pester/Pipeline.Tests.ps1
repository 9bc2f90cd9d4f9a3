# Pipelines: services flow into Get-RelocationImpact and Get-RelocationRollbackPlan by name or as the manifest's
# objects, and -Root binds from the estate root those objects carry, wherever the session stands.

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:Root = New-TestEstate -Name pipeline
    $script:Elsewhere = New-Item -ItemType Directory (Join-Path $TestDrive 'elsewhere')
}

Describe 'Services from the pipeline' {
    BeforeEach {
        $script:SavedRoot = $env:INFRA_RELOCATION_ROOT
        $env:INFRA_RELOCATION_ROOT = $null
        Push-Location $Elsewhere
    }
    AfterEach {
        Pop-Location
        $env:INFRA_RELOCATION_ROOT = $SavedRoot
    }

    It 'Get-RelocationImpact takes the manifest''s service objects and their estate root' {
        $moved = @(Get-RelocationManifest -Root $Root | Select-Object -ExpandProperty Services | Where-Object StatusText -NE 'planned' | Select-Object -First 2)
        $moved | Should -HaveCount 2
        $items = @($moved | Get-RelocationImpact | Where-Object { $_ -is [InfraRelocation.Gates.ImpactItem] })
        $items | Should -Not -BeNullOrEmpty
        $items.Service | Sort-Object -Unique | Should -Be ($moved.Service | Sort-Object -Unique)
    }

    It 'Get-RelocationRollbackPlan takes names and numbers the combined plan from 1' {
        $steps = @('wiki', 'wiki' | Get-RelocationRollbackPlan -Root $Root | Where-Object { $_ -is [InfraRelocation.Gates.RollbackStep] })
        $steps | Should -Not -BeNullOrEmpty
        $steps.Service | Sort-Object -Unique | Should -Be 'wiki'
        $steps.Order | Should -Be (1..$steps.Count)
        $receipt = 'wiki' | Get-RelocationRollbackPlan -Root $Root | Select-Object -Last 1
        $receipt.Steps.Count | Should -Be $steps.Count
    }

    It 'an unknown piped service is a non-terminating error; the others are still reported' {
        $out = @('wiki', 'no-such-service' | Get-RelocationImpact -Root $Root -ErrorAction SilentlyContinue -ErrorVariable errs)
        $errs | Should -HaveCount 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'ServiceNotFound,*'
        @($out | Where-Object { $_ -is [InfraRelocation.Gates.ImpactItem] -and $_.Service -eq 'wiki' }) | Should -Not -BeNullOrEmpty
    }

    It '-Root binds from a receipt''s EstateRoot' {
        $receipt = Invoke-RelocationParity -Root $Root | Select-Object -Last 1
        $out = @($receipt | Get-RelocationEstate)
        $out | Should -Not -BeNullOrEmpty
        $out[0].Root | Should -Be $Root
    }
}

Describe '-Verbose narrates gates and transitions' {
    It 'a gate names the root, every file with its digest, and each gate''s result and time' {
        $verbose = @(Invoke-RelocationParity -Root $Root -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message
        $verbose | Should -Contain ($verbose | Where-Object { $_ -like "Estate $Root*: * file(s) read in * ms" })
        $digest = (Get-FileHash (Join-Path $Root 'ops/bindings/infra.relocation.plan.yaml') -Algorithm SHA256).Hash.ToLowerInvariant().Substring(0, 12)
        $verbose | Should -Contain "  sha256 $digest ops/bindings/infra.relocation.plan.yaml"
        $verbose | Where-Object { $_ -like 'Gates ran in * ms:' } | Should -Not -BeNullOrEmpty
        $verbose | Where-Object { $_ -like '  D35: *checked*' } | Should -Not -BeNullOrEmpty
    }

    It 'a transition preview names its inputs and what would change' {
        $root = New-TestEstate -Name verbose
        $verbose = @(Set-RelocationServiceStatus -Root $root -Service bookmarks -Status shadow -Force -Reason 'preview test: the SSOTs are not moved' -WhatIf -Verbose 4>&1 |
            Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message
        $verbose | Where-Object { $_ -like "Estate $root*" } | Should -Not -BeNullOrEmpty
        $verbose | Where-Object { $_ -like 'Guards and preview: *bookmarks*file(s) would change' } | Should -Not -BeNullOrEmpty
    }
}
