# End-to-end tests of the read-only gates on the sample estate (all pass) and on broken copies (the expected,
# located findings), the report formats, and the exit codes scheduled tasks get from real pwsh processes.

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:AsOf = [DateTimeOffset]'2026-11-26T00:00:00Z'

    # file:line:column of the first match of $Value at or after the first line matching $Anchor (1-based).
    function Find-Location([string] $Root, [string] $Relative, [string] $Anchor, [string] $Value) {
        $lines = Get-Content -LiteralPath (Join-Path $Root $Relative)
        $start = 0
        while ($start -lt $lines.Count -and $lines[$start] -notmatch $Anchor) { $start++ }
        for ($i = $start; $i -lt $lines.Count; $i++) {
            $m = [regex]::Match($lines[$i], $Value)
            if ($m.Success) { return "${Relative}:$($i + 1):$($m.Index + 1)" }
        }
        throw "'$Value' after '$Anchor' not found in $Relative"
    }

    $script:Manifest = 'ops/bindings/infra.relocation.plan.yaml'
    $script:Registry = 'ops/governance/SERVICE_REGISTRY.yaml'
    $script:Policy = 'ops/bindings/infra.placement.policy.yaml'

    # pwsh of the same version as this one (under `dotnet pwsh` the process is dotnet itself).
    $script:PwshExe = [Environment]::ProcessPath
    $script:PwshPrefix = @(if ([IO.Path]::GetFileNameWithoutExtension($PwshExe) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })
}

Describe 'Gate cmdlets on the sample estate' {
    BeforeAll { $script:Root = New-TestEstate -Name sample }

    It '<Command> passes and writes a receipt' -ForEach @(
        @{ Command = 'Invoke-RelocationGate'; Capability = 'infra.relocation.gate' }
        @{ Command = 'Invoke-RelocationParity'; Capability = 'infra.relocation.parity' }
        @{ Command = 'Test-PlacementPolicy'; Capability = 'infra.placement.policy' }
        @{ Command = 'Test-HypervisorIdentity'; Capability = 'infra.hypervisor.identity' }
        @{ Command = 'Test-RelocationException'; Capability = 'gate.d36.exception.hygiene' }
    ) {
        $params = @{ Root = $Root }
        if ($Command -in 'Invoke-RelocationGate', 'Test-RelocationException') { $params.AsOf = $AsOf }
        $out = @(& $Command @params)
        $receipt = $out | Where-Object { $_ -is [InfraRelocation.Receipts.GateReceipt] }
        $receipt | Should -HaveCount 1
        $receipt.Capability | Should -Be $Capability
        $receipt.Outcome | Should -Be 'Passed'
        $receipt.ExitCode | Should -Be 0
        @($out | Where-Object { $_ -is [InfraRelocation.RelocationFinding] -and $_.Severity -eq 'Error' }) | Should -HaveCount 0
        $receipt.Results | ForEach-Object { $_.Passed | Should -BeTrue }
        $receipt.InputDigests.Count | Should -BeGreaterThan 5
    }

    It 'Invoke-RelocationGate runs all five gates in order' {
        $receipt = Invoke-RelocationGate -Root $Root -AsOf $AsOf | Select-Object -Last 1
        $receipt.Results.GateId | Should -Be @('SCHEMA', 'D35', 'D36', 'D37', 'IDENTITY')
    }

    It 'Get-RelocationImpact returns typed, satisfied items for the services past planned' {
        $items = @(Get-RelocationImpact -Root $Root | Where-Object { $_ -is [InfraRelocation.Gates.ImpactItem] })
        $items.Count | Should -BeGreaterThan 6
        $items | ForEach-Object { $_.Satisfied | Should -BeTrue }
        ($items.Surface | Sort-Object -Unique).Count | Should -Be 7
        $wiki = $items | Where-Object { $_.Service -eq 'wiki' -and $_.Surface -eq 'ServiceRegistry' }
        $wiki.File | Should -Be $Registry
        $wiki.Location.ToString() | Should -Be (Find-Location $Root $Registry '^  wiki:' '(?<=host: )app-core')
        $wiki.CurrentValue | Should -Be 'app-core'
    }

    It 'Get-RelocationImpact -IncludePlanned -Pending shows what still has to change' {
        $pending = @(Get-RelocationImpact -Root $Root -IncludePlanned -Pending | Where-Object { $_ -is [InfraRelocation.Gates.ImpactItem] })
        $pending.Count | Should -BeGreaterThan 0
        $pending | ForEach-Object { $_.Satisfied | Should -BeFalse; $_.Status | Should -Be 'planned' }
    }

    It 'Get-RelocationRollbackPlan is ordered, deterministic and ends with a receipt' {
        $first = @(Get-RelocationRollbackPlan -Root $Root)
        $second = @(Get-RelocationRollbackPlan -Root $Root)
        $steps = @($first | Where-Object { $_ -is [InfraRelocation.Gates.RollbackStep] })
        $steps.Count | Should -BeGreaterThan 5
        $steps.Order | Should -Be (1..$steps.Count)
        ($steps | ConvertTo-Json -Depth 4) | Should -Be (($second | Where-Object { $_ -is [InfraRelocation.Gates.RollbackStep] }) | ConvertTo-Json -Depth 4)
        $first[-1] | Should -BeOfType InfraRelocation.Receipts.RollbackPlanReceipt
        $wiki = $steps | Where-Object Service -EQ 'wiki'
        $wiki[0].Kind | Should -Be 'Stop'
        ($wiki | Where-Object { $_.Kind -eq 'Revert' -and $_.File -eq $Registry }).RevertTo | Should -Be 'legacy-docker'
    }
}

Describe 'Gate cmdlets on broken copies' {
    It 'a registry host that disagrees with to_host is a located D35 finding naming both files' {
        $root = New-TestEstate -Name registry
        $at = Find-Location $root $Registry '^  wiki:' '(?<=host: )app-core'
        Edit-EstateFile $root $Registry '(?<=^  wiki:\r?\n    host: )app-core' 'docker-host'
        $out = @(Invoke-RelocationParity -Root $root)
        $f = $out | Where-Object { $_ -is [InfraRelocation.RelocationFinding] -and $_.RuleId -eq 'D35.RegistryHostMismatch' }
        $f | Should -HaveCount 1
        $f.Location.File | Should -Be $Manifest
        $f.RelatedLocation.ToString() | Should -Be $at
        $f.Location.ToString() | Should -Be (Find-Location $root $Manifest 'service: "wiki"' '(?<=to_host: )"app-core"')
        $f.Message | Should -Match "to_host: app-core at $([regex]::Escape($Manifest)):\d+:\d+ while the service registry says docker-host at $([regex]::Escape($at))"
        $out[-1].Outcome | Should -Be 'Failed'
        $out[-1].ExitCode | Should -Be 1
    }

    It 'a VMID outside its site range is a D37 finding at the vm_id' {
        $root = New-TestEstate -Name vmid
        $at = Find-Location $root $Manifest '^vm_targets:' '(?<=vm_id: )"\d+"'
        Edit-EstateFile $root $Manifest '(?<=^vm_targets:\r?\n  - vm_id: ")\d+(?=")' '9999'
        $f = @(Test-PlacementPolicy -Root $root) | Where-Object { $_ -is [InfraRelocation.RelocationFinding] -and $_.RuleId -eq 'D37.VmidOutOfRange' }
        $f | Should -HaveCount 1
        $f.Location.ToString() | Should -Be $at
        $f.RelatedLocation.File | Should -Be $Policy
    }

    It 'an expired exception fails D36 and one expiring soon warns' {
        $root = New-TestEstate -Name d36
        $at = Find-Location $root $Manifest '^exceptions:' '(?<=expires_at: )"'
        Edit-EstateFile $root $Manifest '(?<=^exceptions:[\s\S]*?expires_at: ")[^"]+' '2026-11-01T00:00:00Z'
        Edit-EstateFile $root 'ops/bindings/legacy.entrypoint.exceptions.yaml' '2027-02-28T23:59:59Z' '2026-11-29T00:00:00Z'
        $out = @(Test-RelocationException -Root $root -AsOf $AsOf -WarningDays 7)
        $expired = $out | Where-Object { $_.RuleId -eq 'D36.Expired' }
        $expired.Location.ToString() | Should -Be $at
        ($out | Where-Object { $_.RuleId -eq 'D36.ExpiringSoon' }).Severity | Should -Be 'Warning'
        $out[-1].Outcome | Should -Be 'Failed'
    }

    It 'a malformed expiry fails with its location' {
        $root = New-TestEstate -Name d36bad
        $at = Find-Location $root $Manifest '^exceptions:' '(?<=expires_at: )"'
        Edit-EstateFile $root $Manifest '(?<=^exceptions:[\s\S]*?expires_at: ")[^"]+' 'soon'
        $all = @(Invoke-RelocationGate -Root $root -AsOf $AsOf -ErrorAction SilentlyContinue)
        ($all | Where-Object { $_ -is [InfraRelocation.RelocationFinding] -and "$($_.Location)" -eq $at -and $_.Severity -eq 'Error' }) | Should -Not -BeNullOrEmpty
    }

    It 'a duplicated pinned machine id fails the identity check' {
        $root = New-TestEstate -Name identity
        $text = Get-Content (Join-Path $root $Policy) -Raw
        $ids = [regex]::Matches($text, 'machine_id: "?([0-9a-f]{32})"?') | ForEach-Object { $_.Groups[1].Value }
        $ids.Count | Should -BeGreaterThan 1
        Edit-EstateFile $root $Policy ([regex]::Escape($ids[1])) $ids[0]
        $f = @(Test-HypervisorIdentity -Root $root) | Where-Object { $_ -is [InfraRelocation.RelocationFinding] -and $_.RuleId -eq 'IDENTITY.DuplicateMachineId' }
        $f | Should -HaveCount 1
        $f.Location.File | Should -Be $Policy
        $f.RelatedLocation.File | Should -Be $Policy
    }

    It 'live observations are compared with the pinned ids' {
        $root = New-TestEstate -Name live
        $hv = (Get-Content (Join-Path $root $Policy) -Raw | Select-String -Pattern '(?m)^  ([\w-]+):\s*\{[^}]*kind: proxmox' -AllMatches).Matches | ForEach-Object { $_.Groups[1].Value }
        $observations = $hv | ForEach-Object { [InfraRelocation.Gates.HypervisorObservation]@{ HostId = $_; Hostname = $_; MachineId = '0123456789abcdef0123456789abcdef' } }
        $out = @(Test-HypervisorIdentity -Root $root -Observation $observations)
        @($out | Where-Object RuleId -EQ 'IDENTITY.MachineIdMismatch').Count | Should -BeGreaterThan 0
    }

    It 'a rollback target outside the DR sites is a clear error of Get-RelocationRollbackPlan' {
        $root = New-TestEstate -Name rollback
        Edit-EstateFile $root $Policy '(?<=^  wiki:\s+\{ primary_site: fra1, dr_sites: )\["fra1", "ams1"\]' '["ams1"]'
        $steps = @(Get-RelocationRollbackPlan -Root $root -Service wiki -ErrorVariable errs -ErrorAction SilentlyContinue)
        $errs | Should -HaveCount 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'RollbackTargetViolatesDrPolicy,*'
        $errs[0].ErrorDetails.Message | Should -Match "^$([regex]::Escape($Manifest)):\d+:\d+: "
        @($steps | Where-Object { $_ -is [InfraRelocation.Gates.RollbackStep] }) | Should -HaveCount 0
    }

    It 'Get-RelocationImpact shows the file, place and values that must change' {
        $root = New-TestEstate -Name impact
        Edit-EstateFile $root $Registry '(?<=^  wiki:\r?\n    host: )app-core' 'docker-host'
        $item = Get-RelocationImpact -Root $root -Service wiki -Pending | Where-Object { $_ -is [InfraRelocation.Gates.ImpactItem] }
        $item | Should -HaveCount 1
        $item.Surface | Should -Be 'ServiceRegistry'
        $item.Location.ToString() | Should -Be (Find-Location $root $Registry '^  wiki:' '(?<=host: )docker-host')
        $item.CurrentValue | Should -Be 'docker-host'
        $item.RequiredValue | Should -Be 'app-core'
    }

    It 'malformed YAML is a terminating located error without a stack trace' {
        $root = New-TestEstate -Name yaml
        Add-Content (Join-Path $root $Manifest) "`n  bad: [unclosed"
        { Invoke-RelocationGate -Root $root -ErrorAction Stop } | Should -Throw
        try { Invoke-RelocationGate -Root $root -ErrorAction Stop } catch { $_.ErrorDetails.Message | Should -Match ([regex]::Escape($Manifest) + ':\d+:\d+') }
    }
}

Describe 'Export-RelocationReport' {
    BeforeAll {
        $script:Root = New-TestEstate -Name report
        Edit-EstateFile $Root $Registry '(?<=^  wiki:\r?\n    host: )app-core' 'docker-host'
        $script:Run = @(Invoke-RelocationGate -Root $Root -AsOf $AsOf)
    }

    It 'writes SARIF 2.1.0 with rules and located results' {
        $path = Join-Path $TestDrive 'gates.sarif'
        $receipt = $Run | Export-RelocationReport -Format Sarif -Path $path
        $receipt | Should -BeOfType InfraRelocation.Receipts.ReportReceipt
        $sarif = Get-Content $path -Raw | ConvertFrom-Json
        $sarif.version | Should -Be '2.1.0'
        $sarif.runs[0].tool.driver.rules.id | Should -Contain 'D35.RegistryHostMismatch'
        $result = $sarif.runs[0].results | Where-Object ruleId -EQ 'D35.RegistryHostMismatch'
        $result.level | Should -Be 'error'
        $result.locations[0].physicalLocation.artifactLocation.uri | Should -Be $Manifest
        $result.locations[0].physicalLocation.region.startLine | Should -BeGreaterThan 0
        $related = (Find-Location $Root $Registry '^  wiki:' '(?<=host: )docker-host') -split ':'
        $result.relatedLocations[0].physicalLocation.region.startLine | Should -Be ([int]$related[1])
        $result.relatedLocations[0].physicalLocation.region.startColumn | Should -Be ([int]$related[2])
    }

    It 'writes JUnit XML with a failing testcase per rule and subject' {
        $path = Join-Path $TestDrive 'gates.xml'
        $null = $Run | Export-RelocationReport -Format JUnit -Path $path
        [xml] $xml = Get-Content $path -Raw
        $xml.testsuites.testsuite.name | Should -Be @('SCHEMA', 'D35', 'D36', 'D37', 'IDENTITY')
        $case = $xml.testsuites.testsuite.testcase | Where-Object { $_.name -eq 'D35.RegistryHostMismatch wiki' }
        $case.failure.type | Should -Be 'D35.RegistryHostMismatch'
    }

    It 'writes JSON and Markdown to the pipeline without -Path' {
        $json = $Run | Export-RelocationReport -Format Json | ConvertFrom-Json
        $json.passed | Should -BeFalse
        $json.exitCode | Should -Be 1
        ($Run | Export-RelocationReport -Format Markdown) | Should -Match '\*\*FAIL\*\*'
    }

    It 'groups loose findings by gate' {
        $findings = $Run | Where-Object { $_ -is [InfraRelocation.RelocationFinding] }
        $json = $findings | Export-RelocationReport -Format Json | ConvertFrom-Json
        $json.gates.gateId | Should -Contain 'D35'
    }
}

Describe 'Exit codes for scheduled tasks (real pwsh processes)' {
    BeforeAll {
        $script:Good = New-TestEstate -Name exit-good
        $script:Bad = New-TestEstate -Name exit-bad
        Edit-EstateFile $Bad $Registry '(?<=^  wiki:\r?\n    host: )app-core' 'docker-host'
        $script:Yaml = New-TestEstate -Name exit-yaml
        Add-Content (Join-Path $Yaml $Manifest) "`n  bad: [unclosed"
        $script:Script = Join-Path $TestDrive 'gate.ps1'
        Set-Content $Script @"
param([string] `$Root)
Import-Module '$BuiltManifest'
exit (Invoke-RelocationGate -Root `$Root -AsOf '2026-11-26T00:00:00Z' -AsExitCode)
"@
        function Invoke-Pwsh([string[]] $Arguments) {
            $null = & $PwshExe @PwshPrefix -NoProfile -NonInteractive @Arguments 2>&1
            $LASTEXITCODE
        }
    }

    It 'pwsh -File exits <Code> for <Case>' -ForEach @(
        @{ Case = 'a passing estate'; Estate = 'Good'; Code = 0 }
        @{ Case = 'findings'; Estate = 'Bad'; Code = 1 }
        @{ Case = 'invalid input'; Estate = 'Yaml'; Code = 2 }
    ) {
        Invoke-Pwsh @('-File', $Script, '-Root', (Get-Variable $Estate -ValueOnly)) | Should -Be $Code
    }

    It 'pwsh -Command exits <Code> for <Case>' -ForEach @(
        @{ Case = 'a passing estate'; Estate = 'Good'; Code = 0 }
        @{ Case = 'findings'; Estate = 'Bad'; Code = 1 }
        @{ Case = 'invalid input'; Estate = 'Yaml'; Code = 2 }
    ) {
        $root = Get-Variable $Estate -ValueOnly
        Invoke-Pwsh @('-Command', "Import-Module '$BuiltManifest'; exit (Invoke-RelocationGate -Root '$root' -AsOf '2026-11-26T00:00:00Z' -AsExitCode)") | Should -Be $Code
    }

    It 'a missing estate root is invalid input (2)' {
        Invoke-Pwsh @('-Command', "Import-Module '$BuiltManifest'; exit (Invoke-RelocationParity -Root '$(Join-Path $TestDrive 'nope')' -AsExitCode)") | Should -Be 2
    }

    It '-AsExitCode logs a count per rule and the first 20 findings of a drifting estate; -Verbose logs them all' {
        $drift = New-TestEstate -Name exit-drift
        # Every moved service drifts back to its old host in three surfaces (registry, stack, health): 3 x 7 findings.
        Edit-EstateFile $drift $Registry '(?<=^    host: )\S+' 'docker-host'
        Edit-EstateFile $drift 'ops/governance/STACK_REGISTRY.yaml' '(?<=deploy_target: host:)\S+' 'docker-host'
        Edit-EstateFile $drift 'ops/bindings/services.health.yaml' '(?<=^    host: )\S+' 'docker-host'
        $findings = @(Invoke-RelocationGate -Root $drift -AsOf $AsOf | Where-Object { $_ -is [InfraRelocation.RelocationFinding] })
        $findings.Count | Should -BeGreaterThan 20

        $log = @(Invoke-RelocationGate -Root $drift -AsOf $AsOf -AsExitCode 6>&1 | Where-Object { $_ -isnot [int] } | ForEach-Object { "$_" })
        $log[0] | Should -Match '^Rule\s+Errors\s+Warnings$'
        foreach ($rule in $findings | Group-Object RuleId) {
            $errors = @($rule.Group | Where-Object Severity -eq Error).Count
            $log | Where-Object { $_ -match "^$([regex]::Escape($rule.Name))\s+$errors\s" } | Should -HaveCount 1
        }
        @($log | Where-Object { $_ -match ': (Error|Warning) ' }) | Should -HaveCount 20
        $log | Should -Contain "... $($findings.Count - 20) more finding(s) not shown: run with -Verbose, or keep them all with Export-RelocationReport (or -KeepReport)."

        $all = @(Invoke-RelocationGate -Root $drift -AsOf $AsOf -AsExitCode -Verbose 4>$null 6>&1 | Where-Object { $_ -isnot [int] } | ForEach-Object { "$_" })
        @($all | Where-Object { $_ -match ': (Error|Warning) ' }) | Should -HaveCount $findings.Count
    }

    It '-AsExitCode sets $LASTEXITCODE in the session' {
        $code = Invoke-RelocationParity -Root $Bad -AsExitCode 6>$null
        $code | Should -Be 1
        $global:LASTEXITCODE | Should -Be 1
    }
}
