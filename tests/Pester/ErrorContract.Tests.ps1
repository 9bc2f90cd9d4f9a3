# PowerShell's error contract: Test-* and gate cmdlets report a malformed file as a located finding plus a
# non-terminating error (so -ErrorAction and 2>&1 work), every error carries a RecommendedAction, messages name
# $env:INFRA_RELOCATION_ROOT as PowerShell spells it, and Ctrl+C on a change records a Cancelled receipt.

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:Manifest = 'ops/bindings/infra.relocation.plan.yaml'

    # A copy of the sample estate whose manifest has a tab-indented line (YAML forbids tabs in indentation).
    function New-TabbedEstate {
        $root = New-TestEstate -Name tabbed
        $path = Join-Path $root $Manifest
        $lines = [Collections.Generic.List[string]][IO.File]::ReadAllLines($path)
        $index = $lines.FindIndex({ param($l) $l -match '^  change_id:' })
        $lines[$index] = "`t" + $lines[$index].TrimStart()
        [IO.File]::WriteAllLines($path, $lines)
        $root
    }
}

Describe 'A malformed file is a finding and a non-terminating error' {
    It '<Command> -ErrorAction SilentlyContinue returns a located finding and a failed receipt' -ForEach @(
        @{ Command = 'Test-RelocationManifest' }
        @{ Command = 'Invoke-RelocationGate' }
        @{ Command = 'Invoke-RelocationParity' }
        @{ Command = 'Test-PlacementPolicy' }
        @{ Command = 'Test-RelocationException' }
        @{ Command = 'Test-HypervisorIdentity' }
    ) {
        $root = New-TabbedEstate
        $out = @(& $Command -Root $root -ErrorAction SilentlyContinue -ErrorVariable errs)
        $finding = $out | Where-Object { $_ -is [InfraRelocation.RelocationFinding] }
        $finding | Should -HaveCount 1
        $finding.Severity | Should -Be 'Error'
        $finding.RuleId | Should -BeLike 'YAML.*'
        "$($finding.Location)" | Should -Match "^$([regex]::Escape($Manifest)):\d+:\d+$"
        $out[-1].Outcome | Should -Be 'Failed'
        $errs | Should -HaveCount 1
        $errs[0].ErrorDetails.Message | Should -Match "^$([regex]::Escape($Manifest)):\d+:\d+: "
        $errs[0].ErrorDetails.RecommendedAction | Should -Match ([regex]::Escape("$($finding.Location)"))
    }

    It 'the gate receipt carries exit code 2 and -AsExitCode returns it' {
        $root = New-TabbedEstate
        (Invoke-RelocationGate -Root $root -ErrorAction SilentlyContinue)[-1].ExitCode | Should -Be 2
        Invoke-RelocationGate -Root $root -AsExitCode -ErrorAction SilentlyContinue 6>$null | Should -Be 2
    }

    It '2>&1 puts the error record in the output' {
        $root = New-TabbedEstate
        $all = @(Test-RelocationManifest -Root $root -ErrorAction Continue 2>&1)
        @($all | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] }) | Should -HaveCount 1
        @($all | Where-Object { $_ -is [InfraRelocation.RelocationFinding] }) | Should -HaveCount 1
    }

    It '-ErrorAction Stop turns it into an exception that try/catch sees' {
        $root = New-TabbedEstate
        $caught = $null
        try { Test-RelocationManifest -Root $root -ErrorAction Stop } catch { $caught = $_ }
        $caught.FullyQualifiedErrorId | Should -BeLike 'Yaml*,InfraRelocation.Commands.Cmdlets.TestRelocationManifestCommand'
    }
}

Describe 'Error messages and advice' {
    It 'a missing estate names $env:INFRA_RELOCATION_ROOT and says what to do' {
        $saved = $env:INFRA_RELOCATION_ROOT
        $empty = New-Item -ItemType Directory (Join-Path $TestDrive 'nowhere')
        Push-Location $empty
        try {
            $env:INFRA_RELOCATION_ROOT = $null
            Get-RelocationImpact -ErrorAction SilentlyContinue -ErrorVariable errs
        } catch {
            $errs = @($_)
        } finally {
            Pop-Location
            $env:INFRA_RELOCATION_ROOT = $saved
        }
        $errs[0].Exception.Message | Should -BeLike '*$env:INFRA_RELOCATION_ROOT*'
        $errs[0].ErrorDetails.RecommendedAction | Should -BeLike '*$env:INFRA_RELOCATION_ROOT*'
    }

    It 'a refused change has a RecommendedAction' {
        $root = New-TestEstate -Name refused
        $errs = $null
        try { Set-RelocationServiceStatus -Root $root -Service no-such-service -Status cutover -Confirm:$false -ErrorAction Stop } catch { $errs = $_ }
        $errs | Should -Not -BeNullOrEmpty
        $errs.ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
    }
}

Describe 'Ctrl+C on a change' {
    It 'records a Cancelled receipt (<Ledger>) that says how to resume, and writes nothing' -ForEach @(
        @{ Ledger = 'in the estate' }
        @{ Ledger = 'in $env:INFRA_RELOCATION_RECEIPTS'; Elsewhere = $true }
    ) {
        $root = New-TestEstate -Name "cancel-$([bool]$Elsewhere)"
        $path = Join-Path $root $Manifest
        $before = (Get-FileHash $path).Hash
        $saved = $env:INFRA_RELOCATION_TEST_PAUSE_BEFORE_COMMIT_MS
        $savedReceipts = $env:INFRA_RELOCATION_RECEIPTS
        $elsewhereFolder = Join-Path $TestDrive "receipts-elsewhere-$([bool]$Elsewhere)"
        $ps = [powershell]::Create()
        try {
            if ($Elsewhere) { $env:INFRA_RELOCATION_RECEIPTS = $elsewhereFolder }
            $env:INFRA_RELOCATION_TEST_PAUSE_BEFORE_COMMIT_MS = '60000'
            # One script, not two statements: a batch (AddStatement) runs on a pool thread that can still touch the runspace
            # after Stop() and Dispose() closed it, which crashes the whole pwsh (InvalidRunspaceStateException, exit 134).
            [void] $ps.AddScript('param($Module, $Root)
                Import-Module $Module
                Set-RelocationServiceStatus -Root $Root -Service bookmarks -Status shadow -Force -Reason "Ctrl+C test: the SSOTs are not moved" -Confirm:$false -Verbose').
                AddArgument($BuiltManifest).AddArgument($root)
            $async = $ps.BeginInvoke()
            # With -Verbose, ShouldProcess writes the previewed diff just before the commit, where the test pause holds it.
            $deadline = [DateTime]::UtcNow.AddSeconds(120)
            while (-not ($ps.Streams.Verbose.Message -match '\+\+\+ b/') -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
            $ps.Streams.Verbose.Message -match '\+\+\+ b/' | Should -Not -BeNullOrEmpty
            $ps.Stop()
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
        } finally {
            $env:INFRA_RELOCATION_TEST_PAUSE_BEFORE_COMMIT_MS = $saved
            $env:INFRA_RELOCATION_RECEIPTS = $savedReceipts
            $ps.Dispose()
        }
        (Get-FileHash $path).Hash | Should -Be $before
        $ledger = if ($Elsewhere) { Join-Path $elsewhereFolder 'ledger.jsonl' } else { Join-Path $root 'receipts' 'ledger.jsonl' }
        $receipt = (Get-Content $ledger | Select-Object -Last 1 | ConvertFrom-Json).receipt
        $receipt.outcome | Should -Be 'Cancelled'
        $receipt.summary | Should -Match 'To resume, run the same command again'
        if ($Elsewhere) { Test-Path (Join-Path $root 'receipts' 'ledger.jsonl') | Should -BeFalse -Because 'the ledger moved for this run' }
    }
}
