# End-to-end tests of the mutating transition cmdlets on copies of the sample estate: -WhatIf writes nothing,
# -Confirm defaults, illegal transitions, pipeline binding, byte identity, two concurrent pwsh processes,
# health-gated promotion (healthy / unhealthy / revert on parity failure) and the whole relocation walk.

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:Manifest = 'ops/bindings/infra.relocation.plan.yaml'
    $script:Registry = 'ops/governance/SERVICE_REGISTRY.yaml'
    $script:Health = 'ops/bindings/services.health.yaml'
    $script:Ns = 'InfraRelocation.Commands.Cmdlets'
    # The receipts carry the parity-pending warnings; keep the test output readable.
    $script:WarningPreference = 'SilentlyContinue'
    # Tests whose subject is another guard enter a state with its checklist forced, on the record (the checklist
    # guard's own scenarios are in 'The state guards use the checklists').
    $script:Forced = @{ Force = $true; Reason = 'test: the checklist guard is not the subject of this test' }

    # The preflight evidence cutover needs comes from the real preflight against loopback hosts, run once on a
    # template estate; each test gets a copy of it (files and ledger, byte for byte).
    . (Join-Path $PSScriptRoot 'PreflightFixture.ps1')
    function New-TransitionEstate([switch] $NoEvidence) {
        if ($NoEvidence) {
            $root = New-TestEstate -Name transitions
            Set-TestSsotReady $root 'bookmarks'
            Set-TestSsotReady $root 'rss-reader'
            return $root
        }
        New-TestEstate -From $script:Template -Name transitions
    }
    # Outside TestDrive (Pester empties it per block), so that the template lives as long as the file's tests.
    if (Test-TestPreflightAvailable) { throw "The loopback preflight cannot run here: $(Test-TestPreflightAvailable)" }
    $script:PreflightHosts = Start-TestPreflightHosts -Prefix tr
    $script:Template = Join-Path ([IO.Path]::GetTempPath()) "ir-transitions-template-$([guid]::NewGuid().ToString('n').Substring(0, 8))"
    Move-Item (New-TestEstate -Name transitions-template) $script:Template
    Set-TestSsotReady $script:Template 'bookmarks'
    Set-TestSsotReady $script:Template 'rss-reader'
    Add-TestPreflightEvidence -Root $script:Template -Hosts $script:PreflightHosts | Out-Null

    # Hand edit: a service's status line (the first status: after its "- service:" line).
    function Set-ServiceLine([string] $Root, [string] $Service, [string] $Status) {
        Edit-EstateFile $Root $Manifest "(- service: `"$Service`"(?:\n(?!  - ).*)*?\n    status: )`"[a-z-]+`"" "`$1`"$Status`""
    }

    function Enter-Cutover([string] $Root) {
        Edit-EstateFile $Root $Manifest '^  state: "preflight"' '  state: "cutover"'
        Edit-EstateFile $Root $Manifest '^  approved_by: null' '  approved_by: "cab-chair"'
    }

    function Get-Snapshot([string] $Root) {
        $files = @{}
        foreach ($f in Get-ChildItem -Recurse -File (Join-Path $Root 'ops')) { $files[$f.FullName] = [Convert]::ToHexString([IO.File]::ReadAllBytes($f.FullName)) }
        $files
    }

    function Get-LedgerCount([string] $Root) {
        $ledger = Join-Path $Root 'receipts' 'ledger.jsonl'
        if (Test-Path $ledger) { @(Get-Content $ledger | Where-Object { $_.Trim() }).Count } else { 0 }
    }
}

AfterAll {
    Stop-TestPreflightHosts $script:PreflightHosts
    if ($script:Template) { Remove-Item $script:Template, "$($script:Template)-backups" -Recurse -Force -ErrorAction Ignore }
}

Describe '-WhatIf' {
    It 'runs the guards, shows the exact diff and writes nothing but a Preview receipt' {
        $root = New-TransitionEstate
        $before = Get-Snapshot $root
        $ledger = Get-LedgerCount $root
        $whatIf = Set-RelocationState -Root $root -State cutover -ApprovedBy cab-chair @Forced -WhatIf 6>&1 | Out-String
        $receipt = Set-RelocationServiceStatus -Root $root -Service bookmarks -Status shadow -WhatIf
        Set-RelocationVmTarget -Root $root -Hostname files-core -Status ready -Address 192.0.2.116 -WhatIf | Out-Null
        Compare-Object @($before.Keys) @((Get-Snapshot $root).Keys) | Should -BeNullOrEmpty
        foreach ($k in $before.Keys) { (Get-Snapshot $root)[$k] | Should -BeExactly $before[$k] }
        Test-Path (Join-Path $root '.infra-relocation' 'lease.json') | Should -BeFalse
        $receipt.Outcome | Should -Be 'Previewed'
        $receipt.Mode | Should -Be 'Preview'
        $receipt.Diff | Should -Match '(?m)^-    status: "planned"\n\+    status: "shadow"'
        $receipt.Diff | Should -Match '(?m)^-    host: legacy-docker\n\+    host: app-core'
        $receipt.InputDigests.Keys | Should -Contain $Manifest
        (Get-LedgerCount $root) | Should -Be ($ledger + 3)
    }

    It 'still refuses a blocked transition (guards run for real)' {
        $root = New-TransitionEstate -NoEvidence
        $before = Get-Snapshot $root
        { Set-RelocationState -Root $root -State cutover -ApprovedBy cab-chair -WhatIf } |
            Should -Throw -ErrorId "TransitionBlocked,$Ns.SetRelocationStateCommand"
        foreach ($k in $before.Keys) { (Get-Snapshot $root)[$k] | Should -BeExactly $before[$k] }
    }
}

Describe '-Confirm' {
    It 'prompts by default for cutover (a non-interactive session cannot answer, so nothing is written)' {
        $root = New-TransitionEstate
        $before = [IO.File]::ReadAllBytes((Join-Path $root $Manifest))
        $run = Invoke-InFreshPwsh { param($Root) Set-RelocationState -Root $Root -State cutover -ApprovedBy cab-chair -Force -Reason test } -ArgumentList $root
        $run.ExitCode | Should -Be 1
        $run.Errors | Should -Match 'NonInteractive|prompt'
        [IO.File]::ReadAllBytes((Join-Path $root $Manifest)) | Should -Be $before
    }

    It 'does not prompt with -Confirm:$false or $ConfirmPreference = None' {
        $root = New-TransitionEstate
        $run = Invoke-InFreshPwsh { param($Root) Set-RelocationState -Root $Root -State cutover -ApprovedBy cab-chair -Force -Reason test -Confirm:$false } -ArgumentList $root
        $run.ExitCode | Should -Be 0 -Because $run.Errors
        $run.Output[0].Outcome.ToString() | Should -Be 'Succeeded'

        $root = New-TransitionEstate
        $run = Invoke-InFreshPwsh { param($Root) $ConfirmPreference = 'None'; Set-RelocationState -Root $Root -State cutover -ApprovedBy cab-chair -Force -Reason test } -ArgumentList $root
        $run.ExitCode | Should -Be 0 -Because $run.Errors
    }

    It 'does not prompt for a service status (ConfirmImpact Medium)' {
        $root = New-TransitionEstate
        $run = Invoke-InFreshPwsh { param($Root) Set-RelocationServiceStatus -Root $Root -Service bookmarks -Status shadow } -ArgumentList $root
        $run.ExitCode | Should -Be 0 -Because $run.Errors
        (Get-Command Set-RelocationState).ImplementingType.GetCustomAttributes([Management.Automation.CmdletAttribute], $false)[0].SupportsShouldProcess | Should -BeTrue
    }
}

Describe 'Illegal transitions' {
    BeforeAll { $script:root = New-TransitionEstate }

    It 'a skipped state names the allowed next state' {
        $err = { Set-RelocationState -Root $root -State cleanup -Confirm:$false } | Should -Throw -ErrorId "RelocationStateTransitionNotAllowed,$Ns.SetRelocationStateCommand" -PassThru
        $err.Exception.Message | Should -Match 'Allowed next state\(s\) from preflight: cutover'
        $err.ErrorDetails.Message | Should -Match '^ops/bindings/infra.relocation.plan.yaml:13:10: '
    }

    It 'an illegal service move names the allowed next statuses' {
        $err = { Set-RelocationServiceStatus -Root $root -Service bookmarks -Status complete -ErrorAction Stop } | Should -Throw -ErrorId "ServiceStatusTransitionNotAllowed,$Ns.SetRelocationServiceStatusCommand" -PassThru
        $err.Exception.Message | Should -Match 'Allowed next status\(es\) from planned: shadow, cutover'
    }

    It 'stepping back needs -Rollback, and is refused while services are past what the earlier state allows' {
        { Set-RelocationState -Root $root -State planning } | Should -Throw -ErrorId "RelocationStateTransitionNotAllowed,$Ns.SetRelocationStateCommand"
        $err = { Set-RelocationState -Root $root -State planning -Rollback } | Should -Throw -ErrorId "TransitionBlocked,$Ns.SetRelocationStateCommand" -PassThru
        $err.Exception.Message | Should -Match 'wiki \(shadow\)'
    }

    It 'bad names are argument errors' {
        { Set-RelocationServiceStatus -Root $root -Service wiki -Status moved -ErrorAction Stop } | Should -Throw -ErrorId "InvalidServiceStatus,$Ns.SetRelocationServiceStatusCommand"
        { Set-RelocationServiceStatus -Root $root -Service nope -Status shadow -ErrorAction Stop } | Should -Throw -ErrorId "ServiceNotFound,$Ns.SetRelocationServiceStatusCommand"
        { Set-RelocationVmTarget -Root $root -Hostname app-core -TailscaleIp 100.128.0.1 -ErrorAction Stop } | Should -Throw -ErrorId "InvalidTailscaleIp,$Ns.SetRelocationVmTargetCommand"
        { Set-RelocationVmTarget -Root $root -Hostname app-core -Address 300.1.1.1 -ErrorAction Stop } | Should -Throw -ErrorId "InvalidAddress,$Ns.SetRelocationVmTargetCommand"
    }

    It 'self-approval is refused unless -AllowSelfApproval' {
        $r = New-TransitionEstate
        { Set-RelocationState -Root $r -State cutover -ApprovedBy ([Environment]::UserName) -Confirm:$false } | Should -Throw -ErrorId "TransitionBlocked,$Ns.SetRelocationStateCommand"
        $receipt = Set-RelocationState -Root $r -State cutover -ApprovedBy ([Environment]::UserName) -AllowSelfApproval @Forced -Confirm:$false -WarningAction SilentlyContinue
        $receipt.Outcome | Should -Be 'Succeeded'
        ($receipt.Overrides -join "`n") | Should -Match 'Self-approval'
    }
}

Describe 'Writes' {
    It 'changes only the bytes of the values it changes, in both files, and records before/after and digests' {
        $root = New-TransitionEstate
        $m = Join-Path $root $Manifest
        $g = Join-Path $root $Registry
        $mBefore = [IO.File]::ReadAllText($m) -split "`n"
        $gBefore = [IO.File]::ReadAllText($g) -split "`n"
        $receipt = Set-RelocationServiceStatus -Root $root -Service bookmarks -Status shadow
        $mAfter = [IO.File]::ReadAllText($m) -split "`n"
        $gAfter = [IO.File]::ReadAllText($g) -split "`n"
        # one added line anchors the ledger's head (docs/design/ledger.md); every other line is compared as it was
        $mAfter.Count | Should -Be ($mBefore.Count + 1)
        $mAfter[-2] | Should -Match "^ledger_anchor: tx $($receipt.TransactionId) after "
        $mAfter = @($mAfter[0..($mAfter.Count - 3)]) + $mAfter[-1]
        $changed = @(0..($mBefore.Count - 1) | Where-Object { $mBefore[$_] -cne $mAfter[$_] })
        $changed | ForEach-Object { $mAfter[$_] } | Should -Be @(('  updated_at: "' + $receipt.Changes[1].After + '"'), '    status: "shadow"')
        @(0..($gBefore.Count - 1) | Where-Object { $gBefore[$_] -cne $gAfter[$_] } | ForEach-Object { $gAfter[$_] }) | Should -Be @('    host: app-core')
        $receipt.Before | Should -Be 'planned'
        $receipt.After | Should -Be 'shadow'
        $receipt.Changes[1].After | Should -Match '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$'
        $receipt.Files.Path | Should -Be @($Manifest, $Registry)
        $receipt.InputDigests[$Registry] | Should -Be $receipt.Files[1].OldSha256
        (Test-RelocationReceiptChain -Root $root).IsValid | Should -BeTrue
    }

    It 'binds services from the pipeline and accepts enum names and YAML spellings' {
        $root = New-TransitionEstate
        # Entering cutover overrides phase 1's VM items on the record, which stands for phase 1's moves (the later
        # phases need their VM targets' evidence, which this estate has not).
        Set-RelocationState -Root $root -State cutover -ApprovedBy cab-chair @Forced -Confirm:$false | Out-Null
        $receipts = Get-RelocationManifest -Root $root | Select-Object -ExpandProperty Services | Where-Object { $_.Status -eq 'Shadow' -and $_.Phase -eq 1 } |
            Set-RelocationServiceStatus -Root $root -Status Cutover
        $receipts.Count | Should -Be 3
        $receipts.Outcome | Sort-Object -Unique | Should -Be 'Succeeded'
        # wiki's SSOT files name app-core; rolled back to legacy-docker without reverting them first is forced (recorded).
        (Set-RelocationServiceStatus -Root $root -Service wiki -Status RolledBack -Force -Reason 'test: SSOT files revert later' -WarningAction SilentlyContinue).After | Should -Be 'rolled-back'
        (Set-RelocationServiceStatus -Root $root -Service wiki -Status planned).Before | Should -Be 'rolled-back'
        (Get-RelocationManifest -Root $root).Services.Where({ $_.Service -eq 'wiki' }).StatusText | Should -Be 'planned'
    }

    It 'a refused item of a pipeline is a non-terminating error; the other items still run' {
        $root = New-TransitionEstate
        $receipts = 'bookmarks', 'nope', 'rss-reader' | Set-RelocationServiceStatus -Root $root -Status shadow -ErrorVariable refused -ErrorAction SilentlyContinue
        @($receipts | Where-Object Outcome -EQ 'Succeeded').Subject | Should -Be @('bookmarks', 'rss-reader')
        $refused[0].FullyQualifiedErrorId | Should -Be "ServiceNotFound,$Ns.SetRelocationServiceStatusCommand"
    }

    It 'an idempotent re-run writes nothing and says Unchanged' {
        $root = New-TransitionEstate
        $before = [IO.File]::ReadAllBytes((Join-Path $root $Manifest))
        (Set-RelocationServiceStatus -Root $root -Service wiki -Status shadow).Outcome | Should -Be 'Unchanged'
        [IO.File]::ReadAllBytes((Join-Path $root $Manifest)) | Should -Be $before
    }

    It 'Set-RelocationVmTarget adds a missing address key and keeps everything else' {
        $root = New-TransitionEstate
        $receipt = Set-RelocationVmTarget -Root $root -Hostname files-core -Status ready -Address 192.0.2.116 -TailscaleIp 100.64.10.126
        $receipt.Outcome | Should -Be 'Succeeded'
        $vm = (Get-RelocationManifest -Root $root).VmTargets | Where-Object Hostname -EQ files-core
        $vm.Address | Should -Be '192.0.2.116'
        $vm.TailscaleIp | Should -Be '100.64.10.126'
        $vm.StatusText | Should -Be 'ready'
        (Test-RelocationManifest -Root $root).IsValid | Should -Contain $true
    }
}

Describe 'Crash recovery and stale leases' {
    It 'rolls back a journal a crashed transition left before deciding, and records it in the receipt' {
        $root = New-TransitionEstate
        $m = Join-Path $root $Manifest
        $original = [IO.File]::ReadAllBytes($m)
        # A crashed run: journal written, manifest half-changed, process gone.
        $half = [Text.Encoding]::UTF8.GetBytes([IO.File]::ReadAllText($m).Replace('state: "preflight"', 'state: "cutover"'))
        [IO.File]::WriteAllBytes($m, $half)
        $sha = { param($b) [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([byte[]]$b)).ToLowerInvariant() }
        $journalDir = New-Item -ItemType Directory -Force (Join-Path $root '.infra-relocation' 'journal')
        @{ Id = 'crashed01'; Pid = 999999; Machine = [Environment]::MachineName; StartedUtc = '2026-11-26T00:00:00Z'
           Files = @(@{ Path = $Manifest; OriginalBase64 = [Convert]::ToBase64String($original); OriginalSha256 = (& $sha $original); NewSha256 = (& $sha $half) }) } |
            ConvertTo-Json -Depth 4 | Set-Content (Join-Path $journalDir '20261126T000000000-crashed01.json')

        # Read-only commands say so too (issue 16.9): the journal, its files, and the commands that recover it.
        $null = Get-RelocationManifest -Root $root -WarningVariable readWarnings
        $null = Test-RelocationManifest -Root $root -WarningVariable testWarnings
        foreach ($w in @(($readWarnings -join "`n"), ($testWarnings -join "`n"))) {
            $w | Should -Match 'Journal .infra-relocation/journal/20261126T000000000-crashed01.json is pending: transaction crashed01 .* crashed while writing ops/bindings/infra.relocation.plan.yaml'
            $w | Should -Match 'The ledger holds no receipt for it, so the next mutating run undoes it'
            $w | Should -Match 'Any mutating command \(Set-RelocationState, Set-RelocationServiceStatus'
        }
        $preview = Set-RelocationServiceStatus -Root $root -Service bookmarks -Status shadow -WhatIf -WarningVariable warnings
        ($warnings -join "`n") | Should -Match 'Journal .infra-relocation/journal/20261126T000000000-crashed01.json is pending'
        $receipt = Set-RelocationServiceStatus -Root $root -Service bookmarks -Status shadow
        $receipt.Outcome | Should -Be 'Succeeded'
        $receipt.RecoveredJournals | Should -Match 'crashed01'
        (Get-RelocationManifest -Root $root).ActiveRelocation.StateText | Should -Be 'preflight' -Because 'the half-applied state was rolled back'
        Get-ChildItem $journalDir | Should -BeNullOrEmpty
    }

    It 'takes over the lease of a process that is gone and records the takeover' {
        $root = New-TransitionEstate
        New-Item -ItemType Directory -Force (Join-Path $root '.infra-relocation') | Out-Null
        @{ Owner = 'ghost'; Pid = 999999; ProcessStartUtc = '2020-01-01T00:00:00Z'; Machine = [Environment]::MachineName
           AcquiredUtc = '2020-01-01T00:00:00Z'; RenewedUtc = '2020-01-01T00:00:00Z'; Purpose = 'crashed run'; Token = 't' } |
            ConvertTo-Json | Set-Content (Join-Path $root '.infra-relocation' 'lease.json')
        $receipt = Set-RelocationServiceStatus -Root $root -Service bookmarks -Status shadow -LeaseTimeoutSeconds 5
        $receipt.Outcome | Should -Be 'Succeeded'
        $receipt.Takeovers[0].PreviousOwner | Should -Be 'ghost'
        $receipt.Takeovers[0].Reason | Should -Not -BeNullOrEmpty
        Test-Path (Join-Path $root '.infra-relocation' 'lease.json') | Should -BeFalse
    }
}

Describe 'Concurrency between processes' {
    BeforeAll {
        function Start-Racer([string] $Root, [string] $Go, [string] $Service, [string] $Status, [string] $Out) {
            $script = @"
`$ErrorActionPreference = 'Stop'
Import-Module '$BuiltManifest'
`$env:INFRA_RELOCATION_TEST_PAUSE_BEFORE_COMMIT_MS = '1500'
while (-not (Test-Path '$Go')) { Start-Sleep -Milliseconds 10 }
try {
    `$r = Set-RelocationServiceStatus -Root '$Root' -Service $Service -Status $Status
    Set-Content '$Out' "ok `$(`$r.Outcome)"
} catch {
    Set-Content '$Out' "error `$(`$_.FullyQualifiedErrorId) `$(`$_.Exception.Message)"
}
"@
            $file = "$Out.ps1"
            Set-Content $file $script
            $exe = [Environment]::ProcessPath
            [string[]] $prefix = if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' } else { @() }
            Start-Process -FilePath $exe -ArgumentList (@($prefix) + @('-NoProfile', '-NonInteractive', '-File', $file)) -PassThru -NoNewWindow
        }

        function Invoke-Race([string] $Root, [string[]] $Services, [string] $Status) {
            $go = Join-Path $Root 'go'
            $outs = 0..1 | ForEach-Object { Join-Path $Root "racer$_.txt" }
            $procs = 0..1 | ForEach-Object { Start-Racer $Root $go $Services[$_] $Status $outs[$_] }
            Start-Sleep -Seconds 2   # both imported the module and wait
            New-Item -ItemType File $go | Out-Null
            foreach ($p in $procs) {
                if (-not $p.WaitForExit(60000)) { Stop-Process -Id $p.Id; throw 'racer hung' }
            }
            $outs | ForEach-Object { Get-Content $_ -Raw }
        }
    }

    It 'two processes moving different services at the same moment both land (no lost update)' {
        $root = New-TransitionEstate
        $results = Invoke-Race $root @('bookmarks', 'rss-reader') 'shadow'
        $results | Should -HaveCount 2
        $results | ForEach-Object { $_ | Should -Match '^ok Succeeded' }
        $services = (Get-RelocationManifest -Root $root).Services
        ($services | Where-Object Service -EQ bookmarks).StatusText | Should -Be 'shadow'
        ($services | Where-Object Service -EQ rss-reader).StatusText | Should -Be 'shadow'
        (Invoke-RelocationParity -Root $root | Select-Object -Last 1).Results.Where({ $_.GateId -eq 'D37' }).Passed | Should -BeTrue
        (Test-RelocationReceiptChain -Root $root).IsValid | Should -BeTrue
    }

    It 'two processes moving the same service: one wins, the other gets a clear error and writes nothing' {
        $root = New-TransitionEstate
        $results = Invoke-Race $root @('bookmarks', 'bookmarks') 'shadow'
        @($results | Where-Object { $_ -match '^ok Succeeded' }) | Should -HaveCount 1
        $loser = @($results | Where-Object { $_ -notmatch '^ok Succeeded' })
        $loser | Should -HaveCount 1
        $loser[0] | Should -Match "^error EstateValueChanged,$Ns.SetRelocationServiceStatusCommand .*is 'shadow', expected 'planned'"
        $ledger = Get-Content (Join-Path $root 'receipts' 'ledger.jsonl') | ForEach-Object { ($_ | ConvertFrom-Json).receipt } |
            Where-Object Capability -EQ 'infra.relocation.service.transition'
        @($ledger | Where-Object Outcome -EQ 'Failed') | Should -HaveCount 1
    }
}

Describe 'Invoke-RelocationPromotion' {
    BeforeAll {
        # HttpFixture.ps1's responder: /ok answers 200, /status/500 answers 500, /slow/5000 answers after 5 s.
        $script:Server = Start-TestHttpServer
        $script:Port = $Server.Port

        function New-PromotionEstate([string] $Path) {
            $root = New-TransitionEstate
            Enter-Cutover $root
            Set-ServiceLine $root 'wiki' 'cutover'
            Edit-EstateFile $root $Manifest '"http://127\.0\.0\.1:\d+/healthz"' "`"http://127.0.0.1:$Port$Path`""
            $root
        }
    }
    AfterAll { if ($Server) { $Server.Dispose() } }

    It 'promotes after N consecutive healthy probes and runs parity on the written files' {
        $root = New-PromotionEstate '/ok'
        $receipt = Invoke-RelocationPromotion -Root $root -Service wiki -Probes 3 -Interval 0.05 -Window 20
        $receipt.Outcome | Should -Be 'Succeeded'
        $receipt.Probes | Should -HaveCount 3
        $receipt.Probes.StatusCode | Sort-Object -Unique | Should -Be 200
        $receipt.ParityPassed | Should -BeTrue
        $receipt.Before | Should -Be 'cutover'
        $receipt.After | Should -Be 'migrated'
        ((Get-RelocationManifest -Root $root).Services | Where-Object Service -EQ wiki).StatusText | Should -Be 'migrated'
    }

    It 'is blocked by unhealthy answers and by timeouts, writing nothing' {
        foreach ($case in @(@{ Path = '/status/500'; Code = 500 }, @{ Path = '/slow/5000'; Code = $null })) {
            $root = New-PromotionEstate $case.Path
            $before = [IO.File]::ReadAllBytes((Join-Path $root $Manifest))
            $err = { Invoke-RelocationPromotion -Root $root -Service wiki -Probes 2 -Interval 0.05 -Window 1 -Timeout 1 -ErrorAction Stop } |
                Should -Throw -ErrorId "PromotionUnhealthy,$Ns.InvokeRelocationPromotionCommand" -PassThru
            $err.Exception.Message | Should -Match 'Nothing was written'
            [IO.File]::ReadAllBytes((Join-Path $root $Manifest)) | Should -Be $before
            $last = Get-Content (Join-Path $root 'receipts' 'ledger.jsonl') | Select-Object -Last 1 | ConvertFrom-Json
            $last.receipt.Outcome | Should -Be 'Blocked'
            $last.receipt.Probes[0].StatusCode | Should -Be $case.Code
        }
    }

    It 'is refused before the write when parity would fail; forced with a reason, it reverts itself after the write' {
        $root = New-PromotionEstate '/ok'
        # The health binding of wiki points at the old host: D35 fails on the estate after the change.
        Edit-EstateFile $root $Health '(- id: wiki\n    host: )app-core' '${1}legacy-docker'
        $before = Get-Snapshot $root
        $err = { Invoke-RelocationPromotion -Root $root -Service wiki -Probes 1 -Interval 0.05 -Window 20 -ErrorAction Stop } |
            Should -Throw -ErrorId "TransitionBlocked,$Ns.InvokeRelocationPromotionCommand" -PassThru
        $err.Exception.Message | Should -Match 'D35\.HealthHostMismatch'
        $err.Exception.Message | Should -Match 'ops/bindings/infra\.relocation\.plan\.yaml:\d+:\d+'
        foreach ($k in $before.Keys) { (Get-Snapshot $root)[$k] | Should -BeExactly $before[$k] }

        $receipt = Invoke-RelocationPromotion -Root $root -Service wiki -Probes 1 -Interval 0.05 -Window 20 -Force -Reason 'health binding follows in CHG-2' -ErrorVariable promotionErrors -ErrorAction SilentlyContinue
        $receipt.Outcome | Should -Be 'Reverted'
        $receipt.OverrideReason | Should -Be 'health binding follows in CHG-2'
        $receipt.ParityPassed | Should -BeFalse
        $receipt.RevertReason | Should -Match 'D35.HealthHostMismatch'
        $receipt.Files | Should -Not -BeNullOrEmpty
        $promotionErrors[0].FullyQualifiedErrorId | Should -Be "TransitionReverted,$Ns.InvokeRelocationPromotionCommand"
        foreach ($k in $before.Keys) { (Get-Snapshot $root)[$k] | Should -BeExactly $before[$k] }
        Get-ChildItem (Join-Path $root '.infra-relocation' 'journal') -ErrorAction Ignore | Should -BeNullOrEmpty
    }

    It 'refuses a service that is not in cutover or has no health_url' {
        $root = New-PromotionEstate '/ok'
        { Invoke-RelocationPromotion -Root $root -Service pastebin -ErrorAction Stop } | Should -Throw -ErrorId "PromotionNeedsCutover,$Ns.InvokeRelocationPromotionCommand"
        Set-ServiceLine $root 'smtp-relay' 'cutover'
        { Invoke-RelocationPromotion -Root $root -Service smtp-relay -ErrorAction Stop } | Should -Throw -ErrorId "HealthUrlMissing,$Ns.InvokeRelocationPromotionCommand"
    }
}

Describe 'The mutation guard (SCHEMA, D35, D37, identity on the estate after the change)' {
    BeforeAll {
        function Get-LastReceipt([string] $Root) { (Get-Content (Join-Path $Root 'receipts' 'ledger.jsonl') | Select-Object -Last 1 | ConvertFrom-Json).receipt }
    }

    It 'blocked: a move that breaks D35 names every finding with file:line:column, writes nothing, records a Blocked receipt' {
        $root = New-TransitionEstate
        $before = Get-Snapshot $root
        $err = { Set-RelocationServiceStatus -Root $root -Service loki -Status shadow -ErrorAction Stop } |
            Should -Throw -ErrorId "TransitionBlocked,$Ns.SetRelocationServiceStatusCommand" -PassThru
        $err.Exception.Message | Should -Match 'ops/bindings/infra\.relocation\.plan\.yaml:\d+:\d+: Error D35\.StackTargetMismatch'
        $err.Exception.Message | Should -Match 'D35\.HealthHostMismatch'
        $err.Exception.Message | Should -Match '-Force -Reason'
        foreach ($k in $before.Keys) { (Get-Snapshot $root)[$k] | Should -BeExactly $before[$k] }
        $last = Get-LastReceipt $root
        $last.Outcome | Should -Be 'Blocked'
        $last.Findings.RuleId | Should -Contain 'D35.StackTargetMismatch'
    }

    It '-WhatIf shows the same verdict' {
        $root = New-TransitionEstate
        { Set-RelocationServiceStatus -Root $root -Service loki -Status shadow -WhatIf -ErrorAction Stop } |
            Should -Throw -ErrorId "TransitionBlocked,$Ns.SetRelocationServiceStatusCommand"
    }

    It 'forced with a reason: written, and the override, the findings and the reason are in the receipt' {
        $root = New-TransitionEstate
        { Set-RelocationServiceStatus -Root $root -Service loki -Status shadow -Force -ErrorAction Stop } |
            Should -Throw -ErrorId "ForceNeedsReason,$Ns.SetRelocationServiceStatusCommand"
        $r = Set-RelocationServiceStatus -Root $root -Service loki -Status shadow -Force -Reason 'stack moves with CHG-7'
        $r.Outcome | Should -Be 'Succeeded'
        $r.OverrideReason | Should -Be 'stack moves with CHG-7'
        $r.Overrides | Should -Match 'Forced past 2 gate error\(s\).*reason: stack moves with CHG-7'
        ($r.Findings | Where-Object Message -Like 'Overridden (-Force):*').RuleId | Sort-Object | Should -Be @('D35.HealthHostMismatch', 'D35.StackTargetMismatch')
        ((Get-RelocationManifest -Root $root).Services | Where-Object Service -EQ loki).StatusText | Should -Be 'shadow'
    }

    It 'passing: a move whose SSOT files agree' {
        $root = New-TransitionEstate
        (Set-RelocationServiceStatus -Root $root -Service bookmarks -Status shadow).Outcome | Should -Be 'Succeeded'
        (Invoke-RelocationGate -Root $root | Select-Object -Last 1).Outcome | Should -Be 'Passed'
    }

    It 'an unrelated error blocks every change, a change that only removes errors goes ahead' {
        $root = New-TransitionEstate
        Edit-EstateFile $root $Registry '(  wiki:\n    host: )app-core' '${1}legacy-docker'
        Edit-EstateFile $root $Registry '(  pastebin:\n    host: )app-core' '${1}legacy-docker'
        $err = { Set-RelocationServiceStatus -Root $root -Service bookmarks -Status shadow -ErrorAction Stop } |
            Should -Throw -ErrorId "TransitionBlocked,$Ns.SetRelocationServiceStatusCommand" -PassThru
        $err.Exception.Message | Should -Match 'wiki'
        $r = Set-RelocationServiceStatus -Root $root -Service pastebin -Status planned -WarningVariable w
        $r.Outcome | Should -Be 'Succeeded'
        $r.Findings.RuleId | Should -Contain 'GUARD.OnlyRemovesErrors'
    }

    It 'host changes (provision, bootstrap, hostname) are refused while a gate fails, -WhatIf included' {
        $root = New-TransitionEstate
        Edit-EstateFile $root $Registry '(  wiki:\n    host: )app-core' '${1}legacy-docker'
        { Initialize-RelocationVm -Root $root -Hostname app-core -WhatIf -ErrorAction Stop } |
            Should -Throw -ErrorId 'MutationGuardBlocked,InfraRelocation.Commands.Cmdlets.InitializeRelocationVmCommand'
        (Get-LastReceipt $root).Outcome | Should -Be 'Blocked'
        { Set-HypervisorHostname -Root $root -HostId pve-fra1-a -WhatIf -ErrorAction Stop } |
            Should -Throw -ErrorId 'MutationGuardBlocked,InfraRelocation.Commands.Cmdlets.SetHypervisorHostnameCommand'
        (Get-LastReceipt $root).Outcome | Should -Be 'Blocked'
        New-ProxmoxVm -Root $root -Hostname files-core -WhatIf -ErrorVariable pveErrors -ErrorAction SilentlyContinue | Out-Null
        $pveErrors[0].FullyQualifiedErrorId | Should -Be 'MutationGuardBlocked,InfraRelocation.Commands.Cmdlets.NewProxmoxVmCommand'
        (Get-LastReceipt $root).Outcome | Should -Be 'Blocked'
    }

    It 'a hand-edited field (state, approved_by, service and VM target status) is named with its location and the run that set it; Approve-RelocationEdit adopts it' {
        $root = New-TransitionEstate
        (Set-RelocationServiceStatus -Root $root -Service bookmarks -Status shadow).Outcome | Should -Be 'Succeeded'
        (Set-RelocationVmTarget -Root $root -Hostname files-core -Status provisioned).Outcome | Should -Be 'Succeeded'
        $state = Set-RelocationState -Root $root -State cutover -ApprovedBy cab-chair @Forced -Confirm:$false
        $state.Outcome | Should -Be 'Succeeded'
        # Four hand edits, one per controlled field kind.
        Set-ServiceLine $root 'bookmarks' 'planned'
        Edit-EstateFile $root $Manifest '^  state: "cutover"' '  state: "preflight"'
        Edit-EstateFile $root $Manifest '^(  approved_by: )"?cab-chair"?' '$1"someone-else"'
        Edit-EstateFile $root $Manifest '(hostname: "files-core"(?:\n(?!  - ).*)*?\n    status: )"provisioned"' '$1"planned"'
        $before = Get-Snapshot $root
        $err = { Set-RelocationServiceStatus -Root $root -Service rss-reader -Status shadow -ErrorAction Stop } |
            Should -Throw -ErrorId "TransitionBlocked,$Ns.SetRelocationServiceStatusCommand" -PassThru
        $m = $err.Exception.Message
        $m | Should -Match 'HANDEDIT\.FieldChanged: state is preflight at ops/bindings/infra\.relocation\.plan\.yaml:\d+:\d+; the last Set-RelocationState set cutover, run '
        $m | Should -Match ([regex]::Escape($state.RunId))
        $m | Should -Match 'approved_by is someone-else at ops/bindings/infra\.relocation\.plan\.yaml:\d+:\d+; the last Set-RelocationState set cab-chair'
        $m | Should -Match 'the status of service bookmarks is planned at .*; the last Set-RelocationServiceStatus set shadow'
        $m | Should -Match 'the status of VM target files-core is planned at .*; the last Set-RelocationVmTarget set provisioned'
        foreach ($k in $before.Keys) { (Get-Snapshot $root)[$k] | Should -BeExactly $before[$k] }

        $preview = Approve-RelocationEdit -Root $root -ApprovedBy 'cab-chair' -WhatIf
        $preview.Outcome | Should -Be 'Previewed'
        $adopted = Approve-RelocationEdit -Root $root -ApprovedBy 'cab-chair' -Reason 'reviewed in CAB 2026-12-01'
        $adopted.Outcome | Should -Be 'Succeeded'
        $adopted.ApprovedBy | Should -Be 'cab-chair'
        $adopted.OverrideReason | Should -Be 'reviewed in CAB 2026-12-01'
        $adopted.Changes.Path | Sort-Object | Should -Be @('active_relocation.approved_by', 'active_relocation.state', 'services[?service=bookmarks].status', 'vm_targets[?hostname=files-core].status')
        (Approve-RelocationEdit -Root $root -ApprovedBy 'cab-chair').Outcome | Should -Be 'Unchanged'
        (Set-RelocationServiceStatus -Root $root -Service rss-reader -Status shadow).Outcome | Should -Be 'Succeeded'
    }

    It 'schema errors stop every change and a malformed estate appends no receipt' {
        $root = New-TransitionEstate
        Edit-EstateFile $root $Manifest '^  change_id: "CHG-2026-1118-SPLIT-LEGACY"' '  change_id: [1, 2]'
        $count = Get-LedgerCount $root
        $before = Get-Snapshot $root
        { Set-RelocationServiceStatus -Root $root -Service bookmarks -Status shadow -Force -Reason 'try' -ErrorAction Stop } |
            Should -Throw -ErrorId "EstateSchemaInvalid,$Ns.SetRelocationServiceStatusCommand"
        { Initialize-RelocationVm -Root $root -Hostname app-core -WhatIf -ErrorAction Stop } |
            Should -Throw -ErrorId 'EstateSchemaInvalid,InfraRelocation.Commands.Cmdlets.InitializeRelocationVmCommand'
        Get-LedgerCount $root | Should -Be $count
        foreach ($k in $before.Keys) { (Get-Snapshot $root)[$k] | Should -BeExactly $before[$k] }
    }
}

Describe 'The state guards use the checklists' {
    BeforeAll {
        function Get-LastReceipt([string] $Root) { (Get-Content (Join-Path $Root 'receipts' 'ledger.jsonl') | Select-Object -Last 1 | ConvertFrom-Json).receipt }
        function Get-Checklist([string] $Root, [string] $Phase) {
            $items = @{}
            Get-RelocationChecklist -Root $Root -Phase $Phase | Where-Object { $_ -is [InfraRelocation.Gates.ChecklistItem] } | ForEach-Object { $items[$_.Id] = $_ }
            $items
        }
    }

    It 'cutover blocked: each Pre-Cutover item not done is named with its location and command, a Blocked receipt is recorded, nothing is written; -WhatIf gives the same verdict' {
        $root = New-TransitionEstate
        $before = Get-Snapshot $root
        $err = { Set-RelocationState -Root $root -State cutover -ApprovedBy cab-chair -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId "TransitionBlocked,$Ns.SetRelocationStateCommand" -PassThru
        $m = $err.Exception.Message
        $m | Should -Match 'ops/bindings/infra\.relocation\.plan\.yaml:13:10: Error TRANSITION\.ChecklistIncomplete: Entering cutover needs the Pre-Cutover checklist: PRE\.ImpactReviewed \(.*\) is Missing: .* Complete it with: Get-RelocationImpact'
        # The phase being cut over is phase 1: its services move to app-core and app-web.
        $m | Should -Match 'PRE\.VmReady \(.*\) is Missing: Phase 1: app-core: no readiness receipt; app-web: no readiness receipt\. Complete it with: Get-VmReadiness -Hostname app-core'
        $m | Should -Match 'PRE\.VmProvisioned .* Complete it with: New-ProxmoxVm -Hostname app-core'
        $m | Should -Match 'PRE\.StatePreflight .* Complete it with: Set-RelocationState -State preflight'
        # The real preflight passed (its items are done); the approval is the transition's own.
        $m | Should -Not -Match 'PRE\.Preflight |PRE\.BackupsVerified|PRE\.Approval'
        $m | Should -Match '-Force -Reason'
        foreach ($k in $before.Keys) { (Get-Snapshot $root)[$k] | Should -BeExactly $before[$k] }
        $last = Get-LastReceipt $root
        $last.Outcome | Should -Be 'Blocked'
        ($last.Findings | Where-Object RuleId -EQ 'TRANSITION.ChecklistIncomplete').Subject | Should -Contain 'PRE.VmReady'

        $whatIf = { Set-RelocationState -Root $root -State cutover -ApprovedBy cab-chair -WhatIf -ErrorAction Stop } |
            Should -Throw -ErrorId "TransitionBlocked,$Ns.SetRelocationStateCommand" -PassThru
        $whatIf.Exception.Findings.Subject | Sort-Object | Should -Be ($err.Exception.Findings.Subject | Sort-Object)
        foreach ($k in $before.Keys) { (Get-Snapshot $root)[$k] | Should -BeExactly $before[$k] }
    }

    It 'cutover forced with a reason: written, the items and the reason in the receipt, the checklist shows them Overridden until a step back' {
        $root = New-TransitionEstate
        { Set-RelocationState -Root $root -State cutover -ApprovedBy cab-chair -Force -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId "ForceNeedsReason,$Ns.SetRelocationStateCommand"
        $r = Set-RelocationState -Root $root -State cutover -ApprovedBy cab-chair -Force -Reason 'CAB-118: VMs verified by the platform team' -Confirm:$false
        $r.Outcome | Should -Be 'Succeeded'
        $r.OverrideReason | Should -Be 'CAB-118: VMs verified by the platform team'
        ($r.Overrides -join "`n") | Should -Match 'Entered cutover with \d+ Pre-Cutover item\(s\) not done \(.*PRE\.VmReady.*\); reason: CAB-118'
        $overridden = @($r.Findings | Where-Object RuleId -EQ 'TRANSITION.ChecklistIncomplete')
        $overridden.Subject | Should -Contain 'PRE.VmReady'
        $overridden.Severity | Sort-Object -Unique | Should -Be 'Warning'
        (Get-RelocationManifest -Root $root).ActiveRelocation.StateText | Should -Be 'cutover'

        $items = Get-Checklist $root PreCutover
        $items['PRE.VmReady'].State | Should -Be 'Overridden'
        $items['PRE.VmReady'].RunId | Should -Be $r.RunId
        $items['PRE.VmReady'].Evidence | Should -Match 'entered cutover without it by override \(-Force\): CAB-118: VMs verified by the platform team\. Now: Phase 1: app-core: no readiness receipt'
        $items['PRE.Preflight'].State | Should -Be 'Done'
        $items['PRE.Approval'].State | Should -Be 'Done'
        ($items.Values | Where-Object { -not $_.IsDone }) | Should -BeNullOrEmpty

        # An abort back to preflight: the override no longer stands for the next cutover.
        (Set-RelocationState -Root $root -State preflight -Rollback -Confirm:$false).Outcome | Should -Be 'Succeeded'
        (Get-Checklist $root PreCutover)['PRE.VmReady'].State | Should -Be 'Missing'
    }
}

Describe 'Every service move into cutover needs the VM items of the VM targets it lands on' {
    BeforeAll {
        function Get-LastReceipt([string] $Root) { (Get-Content (Join-Path $Root 'receipts' 'ledger.jsonl') | Select-Object -Last 1 | ConvertFrom-Json).receipt }
        $script:ServiceErr = "TransitionBlocked,$Ns.SetRelocationServiceStatusCommand"
    }

    It 'the first phase too: blocked while nothing stands for its VM items, forced with a reason (which then stands for the phase), then the next move of the phase passes' {
        # In cutover by a hand edit: no run entered cutover, so nothing checked or overrode phase 1's VM items.
        $root = New-TransitionEstate
        Enter-Cutover $root
        $before = Get-Snapshot $root
        $err = { Set-RelocationServiceStatus -Root $root -Service wiki -Status cutover -ErrorAction Stop } | Should -Throw -ErrorId $ServiceErr -PassThru
        @($err.Exception.Findings | Where-Object Severity -EQ 'Error').Subject | Should -Be @('PRE.VmProvisioned', 'PRE.VmBootstrapped', 'PRE.VmReady')
        $err.Exception.Message | Should -Match ("ops/bindings/infra\.relocation\.plan\.yaml:\d+:13: Error TRANSITION\.ChecklistIncomplete: Moving 'wiki' \(phase 1\) to cutover needs the Pre-Cutover checklist's VM items for its phase: " +
            'PRE\.VmReady \(.*\) is Missing: Phase 1: app-core: no readiness receipt; app-web: no readiness receipt\. Complete it with: Get-VmReadiness -Hostname app-core')
        foreach ($k in $before.Keys) { (Get-Snapshot $root)[$k] | Should -BeExactly $before[$k] }
        (Get-LastReceipt $root).Outcome | Should -Be 'Blocked'

        $f = Set-RelocationServiceStatus -Root $root -Service wiki -Status cutover -Force -Reason 'CAB-118: app-core and app-web checked by the platform team'
        $f.Outcome | Should -Be 'Succeeded'
        $f.OverrideReason | Should -Be 'CAB-118: app-core and app-web checked by the platform team'
        ($f.Overrides -join "`n") | Should -Match "Moved 'wiki' to cutover with 3 Pre-Cutover item\(s\) of phase 1 not done \(PRE\.VmProvisioned, PRE\.VmBootstrapped, PRE\.VmReady\); reason: CAB-118"
        # That override stands for phase 1: pastebin (phase 1) moves without one.
        $p = Set-RelocationServiceStatus -Root $root -Service pastebin -Status cutover
        $p.Outcome | Should -Be 'Succeeded'
        $p.OverrideReason | Should -BeNullOrEmpty
    }

    It 'a service without a phase: judged on the VM target its to_host names, blocked, then forced with a reason for that move alone' {
        $root = New-TransitionEstate
        Set-RelocationState -Root $root -State cutover -ApprovedBy cab-chair @Forced -Confirm:$false | Out-Null
        # bookmarks (to app-core, its SSOT files ready) loses its phase; the override of phase 1 does not stand for it.
        Edit-EstateFile $root $Manifest '(- service: "bookmarks"(?:\n(?!  - ).*)*?\n    phase: )1' '${1}null'
        ((Get-RelocationManifest -Root $root).Services | Where-Object Service -EQ bookmarks).Phase | Should -BeNullOrEmpty
        $err = { Set-RelocationServiceStatus -Root $root -Service bookmarks -Status cutover -ErrorAction Stop } | Should -Throw -ErrorId $ServiceErr -PassThru
        @($err.Exception.Findings | Where-Object Severity -EQ 'Error').Subject | Should -Be @('PRE.VmProvisioned', 'PRE.VmBootstrapped', 'PRE.VmReady')
        $err.Exception.Message | Should -Match ("Moving 'bookmarks' \(no phase\) to cutover needs the Pre-Cutover checklist's VM items for the VM target it moves to \(app-core\): " +
            "PRE\.VmReady \(.*\) is Missing: 'bookmarks' \(no phase\): app-core: no readiness receipt\. Complete it with: Get-VmReadiness -Hostname app-core")
        (Get-LastReceipt $root).Outcome | Should -Be 'Blocked'

        $f = Set-RelocationServiceStatus -Root $root -Service bookmarks -Status cutover -Force -Reason 'CAB-118: app-core checked by hand'
        $f.Outcome | Should -Be 'Succeeded'
        ($f.Overrides -join "`n") | Should -Match "Moved 'bookmarks' to cutover with 3 Pre-Cutover item\(s\) of its VM target app-core \(no phase\) not done"
        # Recorded for this move alone: the Pre-Cutover list of phase 1 still names the state transition's override, not this one.
        (Get-RelocationChecklist -Root $root -Phase PreCutover | Where-Object { $_ -is [InfraRelocation.Gates.ChecklistItem] -and $_.Id -eq 'PRE.VmReady' }).Evidence |
            Should -Match 'entered cutover without it by override'
    }
}

Describe 'The sample relocation, preflight to complete' {
    It 'walks every state and service status with receipts; the registry follows every move; cleanup and complete wait for their checklists' {
        function Get-Checklist([string] $Root, [string] $Phase) {
            $items = @{}
            Get-RelocationChecklist -Root $Root -Phase $Phase | Where-Object { $_ -is [InfraRelocation.Gates.ChecklistItem] } | ForEach-Object { $items[$_.Id] = $_ }
            $items
        }
        $root = New-TransitionEstate
        $asOf = [DateTimeOffset]::UtcNow
        # The VM targets are not provisioned in this walk (Runbook.Tests enters cutover on a complete list): forced, on the record.
        $cutover = Set-RelocationState -Root $root -State cutover -ApprovedBy 'cab-chair' -Force -Reason 'walk: the VM evidence is the runbook''s' -Confirm:$false
        $cutover.Outcome | Should -Be 'Succeeded'
        $services = (Get-RelocationManifest -Root $root).Services
        # Ready: the shadow services, those whose SSOT files were updated (New-TransitionEstate: bookmarks, rss-reader;
        # here alertmanager, whose rollback target is another host), and ci-agent (a new deployment whose SSOT files
        # already name ci-runner). The others roll back to the host their SSOT files still name.
        Set-TestSsotReady $root 'alertmanager' 'mon-core'
        $moving = 'bookmarks', 'rss-reader', 'alertmanager', 'ci-agent'
        $ready = @($services | Where-Object { $_.Status -eq 'Shadow' -or $_.Service -in $moving })
        $notReady = @($services | Where-Object { $_.Status -eq 'Planned' -and $_.Service -notin $moving })
        # Entering cutover covered phase 1's VM targets (forced above); the later phases' have no evidence in this walk
        # either, so their services' moves are forced too, on the record.
        ($ready | Where-Object Phase -EQ 1 | Set-RelocationServiceStatus -Root $root -Status cutover).Outcome | Sort-Object -Unique | Should -Be 'Succeeded'
        $later = $ready | Where-Object Phase -NE 1 | Set-RelocationServiceStatus -Root $root -Status cutover -Force -Reason 'walk: the VM evidence is the runbook''s'
        $later.Outcome | Sort-Object -Unique | Should -Be 'Succeeded'
        $later.Overrides | Should -Match 'of phase [234] not done'
        # The others' SSOT files still name the old hosts: their cutover is forced (recorded), then rolled back, which
        # only removes errors.
        $forced = $notReady | Set-RelocationServiceStatus -Root $root -Status cutover -Force -Reason 'walk: cut over, then rolled back'
        $forced.OverrideReason | Sort-Object -Unique | Should -Be 'walk: cut over, then rolled back'
        $parity = Invoke-RelocationParity -Root $root
        $parity | Where-Object RuleId -EQ 'D35.RegistryHostMismatch' | Should -BeNullOrEmpty
        ($parity | Where-Object { $_ -is [InfraRelocation.RelocationFinding] -and $_.Severity -eq 'Error' }).Subject | Sort-Object -Unique | Should -Be ($notReady.Service | Sort-Object)
        ($parity | Select-Object -Last 1).Results.Where({ $_.GateId -eq 'D37' }).Passed | Should -BeTrue
        ($notReady | Set-RelocationServiceStatus -Root $root -Status rolled-back).Outcome | Sort-Object -Unique | Should -Be 'Succeeded'
        { Set-RelocationState -Root $root -State cleanup -Confirm:$false } | Should -Throw -ErrorId "TransitionBlocked,$Ns.SetRelocationStateCommand"
        ($ready | Set-RelocationServiceStatus -Root $root -Status applied -Force -Reason 'walk: no health endpoints').Outcome | Sort-Object -Unique | Should -Be 'Succeeded'

        # Cleanup blocked: the post-change checks have not run since cutover.
        $err = { Set-RelocationState -Root $root -State cleanup -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId "TransitionBlocked,$Ns.SetRelocationStateCommand" -PassThru
        $err.Exception.Message | Should -Match 'TRANSITION\.ChecklistIncomplete: Entering cleanup needs the Post-Cutover checklist: POST\.Gate \(.*\) is Missing: .* Complete it with: Invoke-RelocationGate'
        @($err.Exception.Findings | Where-Object { $_.Severity -eq 'Error' }).Subject | Sort-Object | Should -Be @('POST.Gate', 'POST.HypervisorIdentity', 'POST.Parity', 'POST.SsotUpdated')
        # Cleanup forced with a reason (on a copy): the checklist shows the items Overridden.
        $copy = New-TestEstate -From $root -Name forced-cleanup
        $f = Set-RelocationState -Root $copy -State cleanup -Force -Reason 'CAB-118: checks run by the NOC' -Confirm:$false
        $f.Outcome | Should -Be 'Succeeded'
        $f.OverrideReason | Should -Be 'CAB-118: checks run by the NOC'
        $post = Get-Checklist $copy PostCutover
        $post['POST.Gate'].State | Should -Be 'Overridden'
        $post['POST.Gate'].RunId | Should -Be $f.RunId
        $post['POST.Health'].State | Should -Be 'Overridden'   # applied by override, not by the health-gated promotion
        # Cleanup passing: the post-change checks, run for real.
        Get-RelocationImpact -Root $root | Out-Null
        Test-HypervisorIdentity -Root $root | Out-Null
        Invoke-RelocationParity -Root $root | Out-Null
        Invoke-RelocationGate -Root $root | Out-Null
        $post = Get-Checklist $root PostCutover
        $post.Values | Where-Object { -not $_.IsDone } | ForEach-Object { "$($_.Id) $($_.State): $($_.Evidence)" } | Should -BeNullOrEmpty
        $cleanup = Set-RelocationState -Root $root -State cleanup -Confirm:$false
        $cleanup.Outcome | Should -Be 'Succeeded'
        $cleanup.OverrideReason | Should -BeNullOrEmpty

        $ready | Set-RelocationServiceStatus -Root $root -Status complete | Out-Null
        # Complete blocked: nobody confirmed the old resources decommissioned or the open loop closed.
        $err = { Set-RelocationState -Root $root -State complete -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId "TransitionBlocked,$Ns.SetRelocationStateCommand" -PassThru
        @($err.Exception.Findings | Where-Object { $_.Severity -eq 'Error' }).Subject | Should -Be @('CLEAN.Decommissioned', 'CLEAN.OpenLoopClosed')
        $err.Exception.Message | Should -Match 'CLEAN\.Decommissioned .* Complete it with: Confirm-RelocationChecklistItem -Item OldResourcesDecommissioned'
        # Complete forced (on a copy), then passing once a person confirmed both.
        $copy = New-TestEstate -From $root -Name forced-complete
        (Set-RelocationState -Root $copy -State complete -Force -Reason 'CAB-118: decommissioning tracked in OL-7' -Confirm:$false).Outcome | Should -Be 'Succeeded'
        (Get-Checklist $copy PostCleanup)['CLEAN.OpenLoopClosed'].State | Should -Be 'Overridden'
        Confirm-RelocationChecklistItem -Root $root -Item OldResourcesDecommissioned -ConfirmedBy '@mkoenig' -Evidence 'https://tickets.example/OL-2026-118#off' | Out-Null
        Confirm-RelocationChecklistItem -Root $root -Item OpenLoopClosed -ConfirmedBy '@mkoenig' -Evidence 'https://tickets.example/OL-2026-118' | Out-Null
        $done = Set-RelocationState -Root $root -State complete -Confirm:$false
        $done.Outcome | Should -Be 'Succeeded'
        $done.Before | Should -Be 'cleanup'
        $done.OverrideReason | Should -BeNullOrEmpty
        (Get-Checklist $root PostCleanup).Values.State | Sort-Object -Unique | Should -Be 'Done'

        $manifest = Get-RelocationManifest -Root $root
        $manifest.ActiveRelocation.StateText | Should -Be 'complete'
        $manifest.ActiveRelocation.ApprovedBy | Should -Be 'cab-chair'
        ($manifest.Services | Where-Object Service -In $ready.Service).StatusText | Sort-Object -Unique | Should -Be 'complete'
        ($manifest.Services | Where-Object Service -In $notReady.Service).StatusText | Sort-Object -Unique | Should -Be 'rolled-back'
        (Invoke-RelocationGate -Root $root -AsOf $asOf -ErrorAction SilentlyContinue | Select-Object -Last 1).Outcome | Should -Be 'Passed'
        $chain = Test-RelocationReceiptChain -Root $root
        $chain.IsValid | Should -BeTrue
        $chain.ReceiptCount | Should -BeGreaterThan 50
        Get-ChildItem (Join-Path $root '.infra-relocation' 'journal') -ErrorAction Ignore | Should -BeNullOrEmpty
    }
}
