# End-to-end tests of the estate model cmdlets: Get-RelocationManifest, Test-RelocationManifest,
# Get-RelocationReceipt, Test-RelocationReceiptChain. Every test works on a fresh copy of the sample estate.
BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $suffix = 'InfraRelocation.Commands.Cmdlets'
    $manifestPath = 'ops/bindings/infra.relocation.plan.yaml'

    # Literal, first occurrence only (the manifest names auth-core twice); common.ps1's Edit-EstateFile is a regex.
    function Edit-FirstOccurrence([string] $Root, [string] $Path, [string] $From, [string] $To) {
        $full = Join-Path $Root $Path
        $text = [IO.File]::ReadAllText($full)
        $at = $text.IndexOf($From, [StringComparison]::Ordinal)
        if ($at -lt 0) { throw "'$From' not found in $Path" }
        # Only the first occurrence changes.
        [IO.File]::WriteAllText($full, $text.Substring(0, $at) + $To + $text.Substring($at + $From.Length))
    }

    function Get-EstateHash([string] $Root) {
        (Get-ChildItem $Root -Recurse -File | Sort-Object FullName | Get-FileHash | ForEach-Object Hash) -join ''
    }
}

Describe 'Get-RelocationManifest' {
    BeforeEach { $estate = New-TestEstate }

    It 'returns the typed manifest of the sample estate' {
        $manifest = Get-RelocationManifest -Root $estate
        $manifest.PSObject.TypeNames[0] | Should -Be 'InfraRelocation.Model.RelocationManifest'
        $manifest.File | Should -Be $manifestPath
        $manifest.ActiveRelocation.StateText | Should -Be 'preflight'
        $manifest.ActiveRelocation.ApprovedBy | Should -BeNullOrEmpty
        $manifest.VmTargets.Count | Should -Be 10
        $manifest.Services.Count | Should -Be 19
        @($manifest.Services | Where-Object StatusText -EQ 'shadow').Count | Should -Be 7
    }

    It 'keeps the location of every value' {
        $wiki = (Get-RelocationManifest -Root $estate).Services | Where-Object Service -EQ 'wiki'
        $location = $wiki.LocationOf('to_host')
        $location.File | Should -Be $manifestPath
        (Get-Content (Join-Path $estate $manifestPath))[$location.Line - 1].Substring($location.Column - 1) | Should -Be '"app-core"'
    }

    It 'shows field locations as a dictionary in PowerShell: member access and JSON name each field' {
        $wiki = (Get-RelocationManifest -Root $estate).Services | Where-Object Service -EQ 'wiki'
        $wiki.FieldLocations.to_host.Line | Should -Be $wiki.LocationOf('to_host').Line
        $json = $wiki.FieldLocations | ConvertTo-Json -Depth 3 | ConvertFrom-Json
        $json.to_host.Line | Should -Be $wiki.LocationOf('to_host').Line
        $json.PSObject.Properties.Name | Should -Contain 'service'
    }

    It 'writes only the manifest to the pipeline, and nothing to disk' {
        @(Get-RelocationManifest -Root $estate).Count | Should -Be 1
        Test-Path (Join-Path $estate 'receipts') | Should -BeFalse
    }

    It 'gives one located error for malformed YAML and changes nothing' {
        Add-Content (Join-Path $estate $manifestPath) "`nbroken: [1, 2"
        $before = Get-EstateHash $estate
        $err = @()
        $result = try { Get-RelocationManifest -Root $estate } catch { $err += $_ }
        $result | Should -BeNullOrEmpty
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -Be "YamlSyntaxError,$suffix.GetRelocationManifestCommand"
        $err[0].CategoryInfo.Category | Should -Be 'ParserError'
        $err[0].ErrorDetails.Message | Should -Match "^ops/bindings/infra\.relocation\.plan\.yaml:\d+:\d+: Not valid YAML"
        $err[0].ErrorDetails.Message | Should -Not -Match ' at InfraRelocation\.'
        Get-EstateHash $estate | Should -Be $before
        Join-Path $estate 'receipts' | Should -Not -Exist
    }

    It 'refuses an alias bomb with a located error' {
        Set-Content (Join-Path $estate $manifestPath) "a: &a [x, x]`nb: &b [*a, *a]`n"
        { Get-RelocationManifest -Root $estate -ErrorAction Stop } |
            Should -Throw -ErrorId "YamlAliasNotAllowed,$suffix.GetRelocationManifestCommand"
    }

    It 'fails with ManifestMissing when the estate has no manifest' {
        Remove-Item (Join-Path $estate $manifestPath)
        New-Item -ItemType File (Join-Path $estate 'ops/bindings/.keep') | Out-Null
        { Get-RelocationManifest -Root $estate -ErrorAction Stop } |
            Should -Throw -ErrorId "ManifestMissing,$suffix.GetRelocationManifestCommand"
    }
}

Describe 'Test-RelocationManifest' {
    BeforeEach { $estate = New-TestEstate }

    It 'finds nothing wrong with the sample estate' {
        $out = @(Test-RelocationManifest -Root $estate)
        @($out | Where-Object { $_ -is [InfraRelocation.RelocationFinding] }).Count | Should -Be 0
        $receipt = $out[-1]
        $receipt.PSObject.TypeNames[0] | Should -Be 'InfraRelocation.Receipts.ManifestValidationReceipt'
        $receipt.Outcome | Should -Be 'Passed'
        $receipt.IsValid | Should -BeTrue
        $receipt.Files.Count | Should -Be 11
        $receipt.InputDigests.Count | Should -Be 12
    }

    It 'reports typed, located findings on a broken copy' {
        Edit-FirstOccurrence $estate $manifestPath 'state: "preflight"' 'state: "Preflight"'
        Edit-FirstOccurrence $estate $manifestPath 'to_host: "auth-core"' 'to_host: "auth-kore"'
        Edit-FirstOccurrence $estate $manifestPath 'vm_id: "213"' 'vm_id: "21x"'
        $out = @(Test-RelocationManifest -Root $estate)
        $findings = @($out | Where-Object { $_ -is [InfraRelocation.RelocationFinding] })
        ($findings.RuleId | Sort-Object) | Should -Be @('SCHEMA.UnknownEnumValue', 'SCHEMA.UnknownHost', 'SCHEMA.WrongType')
        $findings | ForEach-Object { $_.Location.File | Should -Be $manifestPath; $_.Location.Line | Should -BeGreaterThan 0 }
        ($findings | Where-Object RuleId -EQ 'SCHEMA.UnknownHost').DocumentPath | Should -Be 'services[11].to_host'
        $out[-1].Outcome | Should -Be 'Failed'
    }

    It '-Strict throws RelocationValidationFailed listing the findings' {
        Edit-FirstOccurrence $estate $manifestPath 'to_host: "auth-core"' 'to_host: "auth-kore"'
        $err = { Test-RelocationManifest -Root $estate -Strict -ErrorAction Stop } |
            Should -Throw -ErrorId "RelocationValidationFailed,$suffix.TestRelocationManifestCommand" -PassThru
        $err.Exception.Message | Should -Match 'SCHEMA\.UnknownHost'
        $err.Exception.Findings.Count | Should -Be 1
    }

    It '-Strict does not throw on a clean estate' {
        { Test-RelocationManifest -Root $estate -Strict -ErrorAction Stop } | Should -Not -Throw
    }

    It '-File validates only the given kinds' {
        Edit-FirstOccurrence $estate 'ops/governance/SERVICE_REGISTRY.yaml' 'ssh: app-core' 'ssh: nowhere'
        $receipt = @(Test-RelocationManifest -Root $estate -File Manifest, PlacementPolicy)[-1]
        $receipt.Files | Should -Be @($manifestPath, 'ops/bindings/infra.placement.policy.yaml')
        $receipt.Outcome | Should -Be 'Passed'
        @(Test-RelocationManifest -Root $estate -File ServiceRegistry, SshTargets)[0].RuleId | Should -Be 'SCHEMA.UnknownSshTarget'
    }

    It 'gives a located error for a folder where a file is expected' {
        Remove-Item (Join-Path $estate 'ops/bindings/ssh.targets.yaml')
        New-Item -ItemType Directory (Join-Path $estate 'ops/bindings/ssh.targets.yaml') | Out-Null
        $err = { Test-RelocationManifest -Root $estate -ErrorAction Stop } |
            Should -Throw -ErrorId "EstateFileNotAFile,$suffix.TestRelocationManifestCommand" -PassThru
        $err.ErrorDetails.Message | Should -BeLike 'ops/bindings/ssh.targets.yaml:1:1:*'
    }
}

Describe 'Get-RelocationReceipt' {
    BeforeAll {
        $estate = New-TestEstate
        $start = [datetime]::UtcNow
        Invoke-RelocationParity -Root $estate -WarningAction SilentlyContinue | Out-Null
        Test-PlacementPolicy -Root $estate -WarningAction SilentlyContinue | Out-Null
        Edit-FirstOccurrence $estate $manifestPath 'to_host: "auth-core"' 'to_host: "auth-kore"'
        Invoke-RelocationGate -Root $estate -WarningAction SilentlyContinue -ErrorAction SilentlyContinue | Out-Null  # SCHEMA fails
    }

    It 'reads the ledger as typed receipts, oldest first' {
        $receipts = @(Get-RelocationReceipt -Root $estate)
        $receipts.Count | Should -Be 3
        $receipts[0].PSObject.TypeNames[0] | Should -Be 'InfraRelocation.Receipts.GateReceipt'
        $receipts[1].Capability | Should -Be 'infra.placement.policy'
        $receipts[2].PreviousHash | Should -Be $receipts[1].Hash
        $receipts | ForEach-Object { $_.StartedUtc.Offset | Should -Be ([timespan]::Zero) }
    }

    It 'filters by capability (wildcards), outcome, run id and time' {
        @(Get-RelocationReceipt -Root $estate -Capability 'infra.*.p*').Count | Should -Be 2
        @(Get-RelocationReceipt -Root $estate -Outcome Failed).Count | Should -Be 1
        $last = Get-RelocationReceipt -Root $estate -Outcome Failed
        (Get-RelocationReceipt -Root $estate -RunId $last.RunId).Summary | Should -Be $last.Summary
        @($last | Get-RelocationReceipt -Root $estate).Count | Should -Be 1
        @(Get-RelocationReceipt -Root $estate -After $start).Count | Should -Be 3
        @(Get-RelocationReceipt -Root $estate -Before $start).Count | Should -Be 0
    }
}

Describe 'Test-RelocationReceiptChain' {
    BeforeEach {
        $estate = New-TestEstate
        1..3 | ForEach-Object { Invoke-RelocationParity -Root $estate -WarningAction SilentlyContinue | Out-Null }
        $ledger = Join-Path $estate 'receipts/ledger.jsonl'
    }

    It 'verifies receipts written by several runs, and writes nothing itself' {
        $result = Test-RelocationReceiptChain -Root $estate
        $result.IsValid | Should -BeTrue
        $result.ReceiptCount | Should -Be 3
        (Test-RelocationReceiptChain -Root $estate).ReceiptCount | Should -Be 3
    }

    It 'detects an edited receipt with its line number' {
        $lines = Get-Content $ledger
        $lines[1] = $lines[1].Replace('"Outcome":"Passed"', '"Outcome":"Failed"')
        Set-Content $ledger $lines
        $result = Test-RelocationReceiptChain -Root $estate -WarningAction SilentlyContinue
        $result.IsValid | Should -BeFalse
        $result.Break | Should -Be 'Edited'
        $result.BrokenAtLine | Should -Be 2
        $result.Findings[0].RuleId | Should -Be 'RECEIPT.ChainEdited'
        $result.Findings[0].Location.ToString() | Should -Be 'receipts/ledger.jsonl:2:1'
    }

    It 'detects a removed receipt' {
        Set-Content $ledger (Get-Content $ledger | Select-Object -Index 0, 2)
        $result = Test-RelocationReceiptChain -Root $estate -WarningAction SilentlyContinue
        $result.Break | Should -Be 'Removed'
        $result.BrokenAtLine | Should -Be 2
    }

    It 'detects reordered receipts' {
        $lines = Get-Content $ledger
        Set-Content $ledger @($lines[0], $lines[2], $lines[1])
        $result = Test-RelocationReceiptChain -Root $estate -WarningAction SilentlyContinue
        $result.Break | Should -Be 'Reordered'
        $result.BrokenAtLine | Should -Be 2
    }
}
