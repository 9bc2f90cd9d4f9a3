# End-to-end tests of New-ProxmoxVm against the Proxmox API emulator running as a process (tests/Pester/ProxmoxFixture.ps1):
# success, -WhatIf, idempotent re-run, crash and resume, lock contention, a failing task, a wrong certificate
# fingerprint, a bad token, and two targets in parallel.

BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'ProxmoxFixture.ps1')
    $script:NoEmulator = -not (Get-TestProxmoxEmulatorPath)
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    . (Join-Path $PSScriptRoot 'ProxmoxFixture.ps1')
    $script:Manifest = 'ops/bindings/infra.relocation.plan.yaml'
    $env:INFRA_RELOCATION_PVE_POLL_MS = '50'

    function Get-EstateHashes([string] $Root) {
        # Every estate file except the manifest, the receipt ledger and the tool's own state.
        $h = @{}
        Get-ChildItem $Root -Recurse -File | Where-Object {
            $rel = [IO.Path]::GetRelativePath($Root, $_.FullName).Replace('\', '/')
            $rel -ne $script:Manifest -and $rel -notlike 'receipts/*' -and $rel -notlike '.infra-relocation/*'
        } | ForEach-Object { $h[[IO.Path]::GetRelativePath($Root, $_.FullName)] = (Get-FileHash $_.FullName).Hash }
        $h
    }

    function Get-TargetBlock([string] $Root, [string] $Hostname) {
        $text = Get-Content (Join-Path $Root $script:Manifest) -Raw
        $m = [regex]::Match($text, "(?ms)^  - [^\n]*\n(?:    [^\n]*\n)*?    hostname: `"$Hostname`"\n(?:    [^\n]*\n)*")
        if (-not $m.Success) { $m = [regex]::Match($text, "(?ms)^  - hostname: `"$Hostname`"\n(?:    [^\n]*\n)*") }
        $m.Value
    }
}

Describe 'New-ProxmoxVm against the emulator' -Skip:$script:NoEmulator {
    BeforeEach {
        $script:Pve = Start-TestProxmoxEmulator -TaskMs 150
        $script:Root = New-TestEstate -Name provision
        Initialize-TestProxmoxEstate -Root $script:Root -Emulator $script:Pve
    }

    AfterEach {
        if ($script:Pve) { Stop-TestProxmoxEmulator $script:Pve }
        Remove-Item env:INFRA_RELOCATION_PVE_TOKEN -ErrorAction Ignore
    }

    BeforeAll {
        # New-ProxmoxVm for files-core in a child pwsh, for the tests that kill it (by pid) part-way.
        function Start-ProvisionProcess {
            $exe = [Environment]::ProcessPath
            [string[]] $prefix = if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' } else { @() }
            $script = "Import-Module '$BuiltManifest'; New-ProxmoxVm -Root '$($script:Root)' -Hostname files-core -Confirm:`$false"
            $psi = [Diagnostics.ProcessStartInfo]::new($exe)
            foreach ($a in $prefix + @('-NoProfile', '-NonInteractive', '-Command', $script)) { $psi.ArgumentList.Add($a) }
            $psi.UseShellExecute = $false
            $psi.RedirectStandardOutput = $true
            $psi.Environment['INFRA_RELOCATION_PVE_TOKEN'] = $script:Pve.Secret
            $psi.Environment['INFRA_RELOCATION_PVE_POLL_MS'] = '50'
            [Diagnostics.Process]::Start($psi)
        }
    }

    It 'provisions a target: the VM runs, the manifest records status and address, nothing else changes' {
        $before = Get-EstateHashes $script:Root
        $manifestBefore = Get-Content (Join-Path $script:Root $script:Manifest)

        $receipt = New-ProxmoxVm -Root $script:Root -Hostname files-core -Confirm:$false

        $receipt | Should -BeOfType ([InfraRelocation.Receipts.ProvisionReceipt])
        $receipt.Outcome | Should -Be 'Succeeded'
        $receipt.VmId | Should -Be 216
        $receipt.Address | Should -Be '192.0.2.116'
        $receipt.Upids.Count | Should -BeGreaterOrEqual 2
        $vm = Get-TestProxmoxVm $script:Pve -VmId 216
        $vm.status | Should -Be 'running'
        $vm.config.name | Should -Be 'files-core'
        $vm.config.cores | Should -Be '4'
        $vm.config.scsi0 | Should -Match 'size=64G'

        $block = Get-TargetBlock $script:Root 'files-core'
        $block | Should -Match 'status: "provisioned"'
        $block | Should -Match 'address: 192\.0\.2\.116'
        $manifestAfter = Get-Content (Join-Path $script:Root $script:Manifest)
        $diff = Compare-Object $manifestBefore $manifestAfter
        @($diff).Count | Should -Be 4   # status line replaced (old + new), one address line and the ledger_anchor line added
        # the manifest write recorded the run's receipt in its transaction, and anchored the ledger's head
        $receipt.TransactionId | Should -Not -BeNullOrEmpty
        $receipt.Files.Path | Should -Be $script:Manifest
        $receipt.Files[0].NewSha256 | Should -Be (Get-FileHash (Join-Path $script:Root $script:Manifest) -Algorithm SHA256).Hash.ToLowerInvariant()
        $manifestAfter[-1] | Should -Match "^ledger_anchor: tx $($receipt.TransactionId) after "
        (Test-RelocationReceiptChain -Root $script:Root).Anchored | Should -BeTrue
        (Get-EstateHashes $script:Root) | ConvertTo-Json | Should -Be ($before | ConvertTo-Json)
        Test-Path (Join-Path $script:Root '.infra-relocation' 'provision' 'files-core.json') | Should -BeFalse
    }

    It 'evidence read before provisioning still counts after it: the receipt''s Files say what it made of the manifest' {
        $manifestPath = Join-Path $script:Root $script:Manifest
        $before = (Get-FileHash $manifestPath -Algorithm SHA256).Hash.ToLowerInvariant()
        $parity = Invoke-RelocationParity -Root $script:Root -WarningAction SilentlyContinue | Where-Object { $_ -is [InfraRelocation.Receipts.GateReceipt] }
        $parity.InputDigests[$script:Manifest] | Should -Be $before

        $receipt = New-ProxmoxVm -Root $script:Root -Hostname files-core -Confirm:$false
        $receipt.Outcome | Should -Be 'Succeeded'
        $receipt.Files.Path | Should -Be $script:Manifest
        $receipt.Files[0].OldSha256 | Should -Be $before
        $receipt.Files[0].NewSha256 | Should -Be (Get-FileHash $manifestPath -Algorithm SHA256).Hash.ToLowerInvariant()
        (Get-RelocationReceipt -Root $script:Root -Capability infra.vm.provision | Select-Object -Last 1).Files[0].NewSha256 | Should -Be $receipt.Files[0].NewSha256

        # The parity run read the manifest before provisioning changed it: it still counts (not "read files that changed since").
        $item = Get-RelocationChecklist -Root $script:Root -Phase PreCutover | Where-Object { $_ -is [InfraRelocation.Gates.ChecklistItem] -and $_.Id -eq 'PRE.Parity' }
        $item.RunId | Should -Be $parity.RunId
        $item.Evidence | Should -Not -Match 'changed since'
        # A hand edit of the manifest, by contrast, makes it stale.
        Add-Content $manifestPath '# a hand edit'
        $item = Get-RelocationChecklist -Root $script:Root -Phase PreCutover | Where-Object { $_ -is [InfraRelocation.Gates.ChecklistItem] -and $_.Id -eq 'PRE.Parity' }
        $item.State | Should -Be 'Missing'
        $item.Evidence | Should -Match 'read files that changed since: ops/bindings/infra\.relocation\.plan\.yaml'
    }

    It '-WhatIf prints the exact plan, emits a Previewed receipt and sends no POST, PUT or DELETE' {
        $manifestBefore = Get-Content (Join-Path $script:Root $script:Manifest) -Raw
        $out = New-ProxmoxVm -Root $script:Root -Hostname files-core -WhatIf -Verbose 4>&1
        $receipt = $out | Where-Object { $_ -is [InfraRelocation.Receipts.ProvisionReceipt] }
        $verbose = ($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }) -join "`n"

        $receipt.Outcome | Should -Be 'Previewed'
        $receipt.Steps.Name | Should -Be @('clone', 'configure', 'resize', 'start', 'address', 'record')
        $verbose | Should -Match 'POST /nodes/pve-fra1-a/qemu/9002/clone newid=216 name=files-core full=1 storage=local-lvm'
        $verbose | Should -Match 'PUT /nodes/pve-fra1-a/qemu/216/resize disk=scsi0 size=64G'
        $verbose | Should -Not -Match ([regex]::Escape($script:Pve.Secret))
        @(Get-TestProxmoxMutatingRequest $script:Pve).Count | Should -Be 0
        @(Get-TestProxmoxRequest $script:Pve).Count | Should -BeGreaterThan 0
        Get-Content (Join-Path $script:Root $script:Manifest) -Raw | Should -Be $manifestBefore
    }

    It 'a ledger that cannot take the receipt stops it before anything is sent' {
        $ledger = Join-Path $script:Root 'receipts/ledger.jsonl'
        New-Item -ItemType Directory -Force (Split-Path $ledger) | Out-Null
        [IO.File]::WriteAllText($ledger, '{"hash":"torn')
        $manifestBefore = Get-Content (Join-Path $script:Root $script:Manifest) -Raw
        { New-ProxmoxVm -Root $script:Root -Hostname files-core -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'ReceiptLedgerTorn,InfraRelocation.Commands.Cmdlets.NewProxmoxVmCommand'
        @(Get-TestProxmoxMutatingRequest $script:Pve).Count | Should -Be 0
        Get-Content (Join-Path $script:Root $script:Manifest) -Raw | Should -Be $manifestBefore
    }

    It 'a re-run after success changes nothing and says so' {
        New-ProxmoxVm -Root $script:Root -Hostname files-core -Confirm:$false | Out-Null
        $manifest = Get-Content (Join-Path $script:Root $script:Manifest) -Raw
        Clear-TestProxmoxRequest $script:Pve

        $again = New-ProxmoxVm -Root $script:Root -Hostname files-core -Confirm:$false

        $again.Outcome | Should -Be 'Unchanged'
        $again.Summary | Should -Match 'nothing changed'
        @(Get-TestProxmoxMutatingRequest $script:Pve).Count | Should -Be 0
        Get-Content (Join-Path $script:Root $script:Manifest) -Raw | Should -Be $manifest
    }

    It 'resumes after the process is killed mid-clone, without cloning again' {
        Invoke-TestProxmoxControl $script:Pve POST options @{ taskDurations = @{ qmclone = 6000 } } | Out-Null
        $child = Start-ProvisionProcess
        try {
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            while (-not (Get-TestProxmoxRequest $script:Pve | Where-Object { $_.method -eq 'POST' -and $_.path -like '*/clone' })) {
                if ([DateTime]::UtcNow -gt $deadline -or $child.HasExited) { throw 'the child never sent the clone' }
                Start-Sleep -Milliseconds 100
            }
            Start-Sleep -Milliseconds 300
        } finally {
            Stop-TestProcess $child
        }
        Test-Path (Join-Path $script:Root '.infra-relocation' 'provision' 'files-core.json') | Should -BeTrue
        # the receipt was journaled before the clone was sent; read-only commands say so
        @(Get-ChildItem (Join-Path $script:Root '.infra-relocation' 'pending-receipts') -Filter *.json).Count | Should -Be 1
        $null = Get-RelocationManifest -Root $script:Root -WarningVariable pendingWarnings
        "$pendingWarnings" | Should -Match 'is pending: New-ProxmoxVm \(run .*\) stopped before it recorded its result'

        $receipt = New-ProxmoxVm -Root $script:Root -Hostname files-core -Confirm:$false -WarningAction SilentlyContinue

        # the next run recorded the interrupted run's receipt before sending anything, then its own
        $ledger = @(Get-RelocationReceipt -Root $script:Root -Capability $receipt.Capability)
        $ledger[-2].Outcome | Should -Be 'Failed'
        $ledger[-2].Summary | Should -Match 'interrupted while provisioning'
        $ledger[-1].RunId | Should -Be $receipt.RunId
        @(Get-ChildItem (Join-Path $script:Root '.infra-relocation' 'pending-receipts') -Filter *.json -ErrorAction Ignore).Count | Should -Be 0

        $receipt.Outcome | Should -Be 'Succeeded'
        $receipt.Resumed | Should -BeTrue
        @(Get-TestProxmoxRequest $script:Pve | Where-Object { $_.method -eq 'POST' -and $_.path -like '*/clone' }).Count | Should -Be 1
        (Get-TestProxmoxVm $script:Pve -VmId 216).status | Should -Be 'running'
        Get-TargetBlock $script:Root 'files-core' | Should -Match 'status: "provisioned"'
    }

    It 'resumes after the process is killed while the clone request is in flight: finds the running clone task and waits for it' {
        # The emulator makes the clone, then holds its answer back: the child is killed before it can journal the UPID,
        # as when a run dies between POST .../clone and recording its task. The clone runs on for 10 s.
        Invoke-TestProxmoxControl $script:Pve POST options @{ taskDurations = @{ qmclone = 10000 } } | Out-Null
        Add-TestProxmoxFault $script:Pve @{ kind = 'HoldAnswer'; method = 'POST'; pathContains = '/qemu/9002/clone'; delayMs = 120000 }
        $child = Start-ProvisionProcess
        try {
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            while (-not ((Invoke-TestProxmoxControl $script:Pve GET state).tasks | Where-Object type -eq 'qmclone')) {
                if ([DateTime]::UtcNow -gt $deadline -or $child.HasExited) { throw 'the child never sent the clone' }
                Start-Sleep -Milliseconds 50
            }
        } finally {
            Stop-TestProcess $child
        }
        $task = @((Invoke-TestProxmoxControl $script:Pve GET state).tasks | Where-Object type -eq 'qmclone')
        $task.Count | Should -Be 1
        $task[0].finished | Should -BeFalse
        # the journal shows the clone asked for, without its task
        $journal = Get-Content (Join-Path $script:Root '.infra-relocation' 'provision' 'files-core.json') -Raw | ConvertFrom-Json
        $journal.vmId | Should -Be 216
        $clone = @($journal.steps | Where-Object name -eq 'clone')
        $clone.state | Should -Be 'started'
        $clone[0].PSObject.Properties['upid'] | Should -BeNullOrEmpty

        # -WhatIf says what the next run does: look up the template node's clone tasks since the request and resume, not clone afresh
        $requestsBefore = @(Get-TestProxmoxRequest $script:Pve).Count
        $preview = New-ProxmoxVm -Root $script:Root -Hostname files-core -WhatIf -WarningAction SilentlyContinue
        $preview.Outcome | Should -Be 'Previewed'
        $planned = $preview.Steps | Where-Object Name -eq 'clone'
        $planned.Note | Should -Match 'the next run looks up the qmclone tasks of template 9002 on node pve-fra1-a since \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ and resumes that clone'
        "$($planned.Method) $($planned.Path)" | Should -Be 'GET /nodes/pve-fra1-a/tasks'
        $planned.Parameters['typefilter'] | Should -Be 'qmclone'
        $planned.Parameters['vmid'] | Should -Be '9002'
        $preview.Notes | Should -Contain $planned.Note
        @(Get-TestProxmoxRequest $script:Pve | Select-Object -Skip $requestsBefore | Where-Object method -ne 'GET').Count | Should -Be 0

        # a lock timeout far shorter than the clone: the next run must wait for the task, not for the lock
        $receipt = New-ProxmoxVm -Root $script:Root -Hostname files-core -LockTimeout 1 -Confirm:$false -WarningAction SilentlyContinue

        $receipt.Outcome | Should -Be 'Succeeded'
        $receipt.Resumed | Should -BeTrue
        $step = $receipt.Steps | Where-Object Name -eq 'clone'
        $step.State | Should -Be 'Done'
        $step.Upid | Should -Be $task[0].upid
        $step.Note | Should -Match 'interrupted run'
        $receipt.Upids | Should -Contain $task[0].upid
        @(Get-TestProxmoxRequest $script:Pve | Where-Object { $_.method -eq 'POST' -and $_.path -like '*/clone' }).Count | Should -Be 1
        @(Get-TestProxmoxRequest $script:Pve | Where-Object { $_.method -eq 'GET' -and $_.path -eq '/nodes/pve-fra1-a/tasks' -and
            $_.parameters.typefilter -eq 'qmclone' -and $_.parameters.vmid -eq '9002' }).Count | Should -BeGreaterThan 0
        (Get-TestProxmoxVm $script:Pve -VmId 216).status | Should -Be 'running'
        Get-TargetBlock $script:Root 'files-core' | Should -Match 'status: "provisioned"'
        Test-Path (Join-Path $script:Root '.infra-relocation' 'provision' 'files-core.json') | Should -BeFalse
        # the ledger: the interrupted run's receipt (Failed, recorded by the next run), then the resumed run's
        $ledger = @(Get-RelocationReceipt -Root $script:Root -Capability $receipt.Capability)
        $ledger[-2].Summary | Should -Match 'interrupted while provisioning'
        $ledger[-1].RunId | Should -Be $receipt.RunId
    }

    It 'Ctrl+C while the clone runs records a Cancelled receipt that says how to resume; the journal stays and the next run resumes' {
        Invoke-TestProxmoxControl $script:Pve POST options @{ taskDurations = @{ qmclone = 8000 } } | Out-Null
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$BuiltManifest'; New-ProxmoxVm -Root '$($script:Root)' -Hostname files-core -Confirm:`$false")
            $async = $ps.BeginInvoke()
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            while (-not (Get-TestProxmoxRequest $script:Pve | Where-Object { $_.method -eq 'POST' -and $_.path -like '*/clone' })) {
                if ([DateTime]::UtcNow -gt $deadline -or $async.IsCompleted) { throw "the run never sent the clone: $($ps.Streams.Error | Out-String)" }
                Start-Sleep -Milliseconds 100
            }
            Start-Sleep -Milliseconds 300
            $ps.Stop()
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
        } finally { $ps.Dispose() }

        $cancelled = @(Get-RelocationReceipt -Root $script:Root -Capability infra.vm.provision)
        $cancelled.Count | Should -Be 1
        $cancelled[0].Outcome | Should -Be 'Cancelled'
        $cancelled[0].Summary | Should -Match 'To resume, run the same command again: New-ProxmoxVm -Hostname files-core'
        $cancelled[0].Summary | Should -Match ([regex]::Escape('.infra-relocation/provision/files-core.json'))
        # the receipt journaled before the run is replaced by the Cancelled one, not left to be recorded as 'interrupted'
        @(Get-ChildItem (Join-Path $script:Root '.infra-relocation' 'pending-receipts') -Filter *.json -ErrorAction Ignore).Count | Should -Be 0
        (Get-Content (Join-Path $script:Root '.infra-relocation' 'provision' 'files-core.json') -Raw | ConvertFrom-Json).steps.name | Should -Contain 'clone'

        $receipt = New-ProxmoxVm -Root $script:Root -Hostname files-core -Confirm:$false

        $receipt.Outcome | Should -Be 'Succeeded'
        $receipt.Resumed | Should -BeTrue
        @(Get-TestProxmoxRequest $script:Pve | Where-Object { $_.method -eq 'POST' -and $_.path -like '*/clone' }).Count | Should -Be 1
        @(Get-RelocationReceipt -Root $script:Root -Capability infra.vm.provision).Outcome | Should -Be @('Cancelled', 'Succeeded')
    }

    It 'retries a call refused because the VM is locked, and succeeds' {
        Add-TestProxmoxFault $script:Pve @{ kind = 'Status'; method = 'POST'; pathContains = '/clone'; status = 500; message = 'VM is locked (backup)'; times = 2 }
        $receipt = New-ProxmoxVm -Root $script:Root -Hostname files-core -Confirm:$false
        $receipt.Outcome | Should -Be 'Succeeded'
        @(Get-TestProxmoxFault $script:Pve).Count | Should -Be 0   # both refusals were consumed by retries
        ($receipt.Steps | Where-Object Name -eq 'clone').State | Should -Be 'Done'
    }

    It 'stops with a clear ResourceBusy error when the lock never clears' {
        Invoke-TestProxmoxControl $script:Pve POST 'vms/9002/lock' @{ lock = 'backup' } | Out-Null
        $receipt = New-ProxmoxVm -Root $script:Root -Hostname files-core -Confirm:$false -LockTimeout 3 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'ResourceBusy'
        $err[0].FullyQualifiedErrorId | Should -Be 'ProvisionVmLocked,InfraRelocation.Commands.Cmdlets.NewProxmoxVmCommand'
        $err[0].Exception.Message | Should -Match 'VM is locked \(backup\)'
        $receipt.Outcome | Should -Be 'Failed'
    }

    It 'refuses a target the placement policy does not allow, before any request (Blocked)' {
        $path = Join-Path $script:Root $script:Manifest
        $text = (Get-Content $path -Raw).Replace("proxmox_host: `"pve-fra1-a`"`n    ci_network_cidr: `"192.0.2.116/24", "proxmox_host: `"pve-ams1-a`"`n    ci_network_cidr: `"192.0.2.116/24")
        Set-Content $path $text -NoNewline
        Clear-TestProxmoxRequest $script:Pve
        $receipt = New-ProxmoxVm -Root $script:Root -Hostname files-core -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'ProvisionPlacementRefused,InfraRelocation.Commands.Cmdlets.NewProxmoxVmCommand'
        $receipt.Outcome | Should -Be 'Blocked'
        $receipt.Findings.RuleId | Should -Contain 'D37.VmRequiredHypervisorMismatch'
        @(Get-TestProxmoxRequest $script:Pve).Count | Should -Be 0
    }

    It 'a failing task gives a clear error with the task log and keeps the journal' {
        Add-TestProxmoxFault $script:Pve @{ kind = 'FailTask'; taskType = 'qmclone'; message = "storage 'local-lvm' is full" }
        $receipt = New-ProxmoxVm -Root $script:Root -Hostname files-core -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'ProxmoxTaskFailed,InfraRelocation.Commands.Cmdlets.NewProxmoxVmCommand'
        $err[0].Exception.Message | Should -Match "storage 'local-lvm' is full"
        $err[0].Exception.Message | Should -Match 'run New-ProxmoxVm again to continue'
        $receipt.Outcome | Should -Be 'Failed'
        ($receipt.Steps | Where-Object Name -eq 'clone').State | Should -Be 'Failed'
        Test-Path (Join-Path $script:Root '.infra-relocation' 'provision' 'files-core.json') | Should -BeTrue
    }

    It 'refuses a certificate that does not match the pinned fingerprint' {
        $config = Join-Path $script:Root 'ops' 'infra-relocation.yaml'
        Set-Content $config ((Get-Content $config -Raw).Replace($script:Pve.Fingerprint, ((1..32 | ForEach-Object { 'AB' }) -join ':'))) -NoNewline
        Clear-TestProxmoxRequest $script:Pve
        $receipt = New-ProxmoxVm -Root $script:Root -Hostname files-core -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'SecurityError'
        $err[0].FullyQualifiedErrorId | Should -Be 'ProxmoxCertificateMismatch,InfraRelocation.Commands.Cmdlets.NewProxmoxVmCommand'
        $receipt.Outcome | Should -Be 'Failed'
        @(Get-TestProxmoxRequest $script:Pve).Count | Should -Be 0
        $err[0].Exception.Message | Should -Match ([regex]::Escape($script:Pve.Fingerprint))
        $err[0].ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
    }

    It 'a node certificate renewed since it was pinned is refused with a clear error, and the pin is not rewritten' {
        $config = Join-Path $script:Root 'ops' 'infra-relocation.yaml'
        $nodeFingerprint = (Invoke-RestMethod -Uri "$($script:Pve.Url)/api2/json/nodes" -SkipCertificateCheck -SkipHeaderValidation `
            -Headers @{ Authorization = "PVEAPIToken=$($script:Pve.TokenId)=$($script:Pve.Secret)" }).data |
            Where-Object node -eq 'pve-fra1-a' | Select-Object -ExpandProperty ssl_fingerprint
        $single = "node: `"pve-fra1-a`", fingerprint: `"$($script:Pve.Fingerprint)`""
        Set-Content $config (Get-Content $config -Raw).Replace($single, "$single, node_fingerprint: `"$nodeFingerprint`"") -NoNewline
        (New-ProxmoxVm -Root $script:Root -Hostname files-core -Confirm:$false).Outcome | Should -Be 'Succeeded'
        $pinned = Get-FileHash $config
        $manifest = Get-FileHash (Join-Path $script:Root $script:Manifest)

        Invoke-TestProxmoxControl $script:Pve POST 'nodes/pve-fra1-a/certificate' | Out-Null   # the node has a new certificate
        Clear-TestProxmoxRequest $script:Pve
        foreach ($run in 1, 2) {
            $refused = New-ProxmoxVm -Root $script:Root -Hostname files-core -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
            $refused.Outcome | Should -Be 'Failed'
            $err[0].FullyQualifiedErrorId | Should -BeLike 'ProvisionNodeIdentityMismatch,*'
            $err[0].CategoryInfo.Category | Should -Be 'SecurityError'
            $err[0].Exception.Message | Should -Match "node_fingerprint pins $([regex]::Escape($nodeFingerprint))"
            $err[0].Exception.Message | Should -Not -Match "reports certificate $([regex]::Escape($nodeFingerprint))"
        }
        @(Get-TestProxmoxMutatingRequest $script:Pve).Count | Should -Be 0
        (Get-FileHash $config).Hash | Should -Be $pinned.Hash
        (Get-FileHash (Join-Path $script:Root $script:Manifest)).Hash | Should -Be $manifest.Hash
    }

    It 'a bad token is a clear authentication error that never shows the secret' {
        $secret = [guid]::NewGuid().ToString()
        $env:INFRA_RELOCATION_PVE_TOKEN = $secret
        $out = New-ProxmoxVm -Root $script:Root -Hostname files-core -Confirm:$false -Verbose -Debug -ErrorVariable err -ErrorAction SilentlyContinue 4>&1 5>&1
        $err[0].CategoryInfo.Category | Should -Be 'AuthenticationError'
        $err[0].Exception.Message | Should -Match ([regex]::Escape($script:Pve.TokenId))
        ($err | Out-String) | Should -Not -Match $secret
        ($out | Out-String) | Should -Not -Match $secret
        $receipt = $out | Where-Object { $_ -is [InfraRelocation.Receipts.ProvisionReceipt] }
        ($receipt | ConvertTo-Json -Depth 6) | Should -Not -Match $secret
        Get-ChildItem (Join-Path $script:Root 'receipts') -Recurse -File | Get-Content -Raw | Should -Not -Match $secret
        @(Get-TestProxmoxMutatingRequest $script:Pve).Count | Should -Be 0
    }

    It 'a token the server echoes in an error reason is masked in every stream, the error, the ledger, the journals and the emulator log' {
        # Issue 16.8: the emulator answers the clone with a reason that repeats the credential it was sent.
        $secret = $script:Pve.Secret
        $env:INFRA_RELOCATION_PVE_TOKEN = $secret
        Add-TestProxmoxFault $script:Pve @{ kind = 'Status'; method = 'POST'; pathContains = '/clone'; status = 500; times = -1
            message = 'clone refused for {authorization}' }
        $global:Error.Clear()
        $out = New-ProxmoxVm -Root $script:Root -Hostname files-core -Confirm:$false -Verbose -Debug -ErrorVariable err -ErrorAction SilentlyContinue *>&1
        $err.Count | Should -BeGreaterThan 0
        $err[0].Exception.Message | Should -Match 'clone refused for PVEAPIToken=.*=\*{8}' -Because 'the echoed reason is kept, only the secret is masked'
        $text = @(
            ($out | Out-String -Width 4096)
            ($out | Where-Object { $_ -isnot [string] -and $_ -isnot [Management.Automation.InformationalRecord] } | ConvertTo-Json -Depth 8 -WarningAction Ignore)
            ($err | ForEach-Object { $_.Exception.ToString(); $_.ErrorDetails.Message; $_ | Get-Error | Out-String -Width 4096 })
            ($global:Error | ForEach-Object { "$_"; $_.Exception.ToString() })
        ) -join "`n"
        $text | Should -Match 'clone refused' -Because 'the run text holds the error'
        $text.Contains($secret) | Should -BeFalse -Because 'no stream or error shows the secret'
        $files = @(Get-ChildItem (Join-Path $script:Root 'receipts'), (Join-Path $script:Root '.infra-relocation') -Recurse -File -Force -ErrorAction Ignore)
        ($files | Where-Object Name -eq 'ledger.jsonl') | Should -Not -BeNullOrEmpty
        $stored = ($files | ForEach-Object { [IO.File]::ReadAllText($_.FullName) }) -join "`n"
        $stored | Should -Match 'clone refused' -Because 'the ledger records the failure'
        $stored.Contains($secret) | Should -BeFalse -Because 'the ledger and journals hold no secret'
        (Get-TestProxmoxRequest $script:Pve | ConvertTo-Json -Depth 6).Contains($secret) | Should -BeFalse -Because 'the emulator log holds no secret'
    }

    It 'takes the token from -ApiToken (user name = token id) before the environment' {
        $env:INFRA_RELOCATION_PVE_TOKEN = 'not-the-secret'
        $token = [pscredential]::new($script:Pve.TokenId, (ConvertTo-SecureString $script:Pve.Secret -AsPlainText -Force))
        $receipt = New-ProxmoxVm -Root $script:Root -Hostname files-core -ApiToken $token -WhatIf
        $receipt.Outcome | Should -Be 'Previewed'
    }

    It 'reads the secret from a SecretManagement vault named in the config when Get-Secret exists' {
        $config = Join-Path $script:Root 'ops' 'infra-relocation.yaml'
        Set-Content $config ((Get-Content $config -Raw).Replace('{ env: INFRA_RELOCATION_PVE_TOKEN }', '{ vault: PveRelocationToken }')) -NoNewline
        Remove-Item env:INFRA_RELOCATION_PVE_TOKEN
        $global:VaultSecret = $script:Pve.Secret
        function global:Get-Secret { param([string] $Name, [switch] $AsPlainText) if ($Name -eq 'PveRelocationToken' -and $AsPlainText) { $global:VaultSecret } }
        try {
            $receipt = New-ProxmoxVm -Root $script:Root -Hostname files-core -WhatIf
            $receipt.Outcome | Should -Be 'Previewed'
        } finally {
            Remove-Item function:global:Get-Secret
            Remove-Variable VaultSecret -Scope Global
        }
        $receipt = New-ProxmoxVm -Root $script:Root -Hostname files-core -WhatIf -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'ProxmoxTokenSecretMissing,InfraRelocation.Commands.Cmdlets.NewProxmoxVmCommand'
        $err[0].Exception.Message | Should -Match 'PveRelocationToken'
    }

    It 'two piped targets with -ThrottleLimit 2 are both provisioned with distinct VMIDs from the site range' {
        $path = Join-Path $script:Root $script:Manifest
        $text = (Get-Content $path -Raw).
            Replace("  - vm_id: `"216`"`n    hostname: `"files-core`"", "  - hostname: `"files-core`"").
            Replace("  - vm_id: `"217`"`n    hostname: `"ci-runner`"", "  - hostname: `"ci-runner`"").
            Replace("proxmox_host: `"pve-fra1-b`"`n    ci_network_cidr: `"dhcp`"", "proxmox_host: `"pve-fra1-a`"`n    ci_network_cidr: `"dhcp`"")
        Set-Content $path $text -NoNewline

        $receipts = Get-RelocationManifest -Root $script:Root | Select-Object -ExpandProperty VmTargets |
            Where-Object Hostname -in 'files-core', 'ci-runner' |
            New-ProxmoxVm -Root $script:Root -ThrottleLimit 2 -Confirm:$false -WarningVariable warnings

        $receipts.Count | Should -Be 2
        $receipts.Outcome | Should -Be @('Succeeded', 'Succeeded')
        # The first target's journal belongs to this live run: the second target does not record it as interrupted.
        @($warnings | Where-Object { "$_" -match 'interrupted run' }) | Should -BeNullOrEmpty
        $ledger = @(Get-RelocationReceipt -Root $script:Root -Capability infra.vm.provision | Where-Object Target -in 'files-core', 'ci-runner')
        $ledger.Outcome | Should -Not -Contain 'Failed'
        $ids = $receipts.VmId
        ($ids | Select-Object -Unique).Count | Should -Be 2
        $ids | ForEach-Object { $_ | Should -BeGreaterOrEqual 200; $_ | Should -BeLessOrEqual 299 }
        foreach ($id in $ids) { (Get-TestProxmoxVm $script:Pve -VmId $id).status | Should -Be 'running' }
        $manifest = Get-Content $path -Raw
        foreach ($id in $ids) { $manifest | Should -Match "vm_id: '$id'" }
    }

    It 'a template on another node''s local storage: clone on its node, then an offline migration to the target node' {
        # docker-host-v2's template 9002 is on pve-fra1-a (local-lvm); mon-core goes to pve-fra1-b.
        $receipt = New-ProxmoxVm -Root $script:Root -Hostname mon-core -Confirm:$false

        $receipt.Outcome | Should -Be 'Succeeded'
        $receipt.Node | Should -Be 'pve-fra1-b'
        ($receipt.Steps | Where-Object Name -eq 'migrate').State | Should -Be 'Done'
        $posts = @(Get-TestProxmoxMutatingRequest $script:Pve | Where-Object { $_.status -eq 200 })
        $clone = @($posts | Where-Object path -like '*/clone')
        $clone.Count | Should -Be 1
        $clone[0].path | Should -Be '/nodes/pve-fra1-a/qemu/9002/clone'
        $clone[0].parameters.PSObject.Properties.Name | Should -Not -Contain 'target'
        $migrate = @($posts | Where-Object path -like '*/migrate')
        $migrate[0].path | Should -Be '/nodes/pve-fra1-a/qemu/213/migrate'
        $migrate[0].parameters.target | Should -Be 'pve-fra1-b'
        (Get-TestProxmoxVm $script:Pve -VmId 213).node | Should -Be 'pve-fra1-b'
    }

    It 'a template on shared storage: one clone with target straight to the other node, no migration' {
        Invoke-TestProxmoxControl $script:Pve POST storages @{ storage = 'ceph-vm'; type = 'rbd'; content = 'images'; shared = 1 } | Out-Null
        Invoke-TestProxmoxControl $script:Pve POST templates @{ vmid = 9002; node = 'pve-fra1-a'; name = 'tpl-debian12'; storage = 'ceph-vm' } | Out-Null
        $profiles = Join-Path $script:Root 'ops' 'bindings' 'infra.vm.profiles.yaml'
        Set-Content $profiles ((Get-Content $profiles -Raw).Replace('storage: "local-lvm"', 'storage: "ceph-vm"')) -NoNewline

        $receipt = New-ProxmoxVm -Root $script:Root -Hostname mon-core -Confirm:$false

        $receipt.Outcome | Should -Be 'Succeeded'
        $posts = @(Get-TestProxmoxMutatingRequest $script:Pve | Where-Object { $_.status -eq 200 })
        $clone = @($posts | Where-Object path -like '*/clone')
        $clone.Count | Should -Be 1
        $clone[0].parameters.target | Should -Be 'pve-fra1-b'
        @($posts | Where-Object path -like '*/migrate').Count | Should -Be 0
        (Get-TestProxmoxVm $script:Pve -VmId 213).node | Should -Be 'pve-fra1-b'
    }

    It 'a re-run while /cluster/resources still lags behind the clone reads the name from the config and resumes' {
        Invoke-TestProxmoxControl $script:Pve POST options @{ resourceLagMs = 600000 } | Out-Null
        Add-TestProxmoxFault $script:Pve @{ kind = 'Status'; method = 'PUT'; pathContains = '/qemu/216/config'; status = 500; message = 'simulated failure after the clone'; times = 1 }
        $failed = New-ProxmoxVm -Root $script:Root -Hostname files-core -Confirm:$false -ErrorAction SilentlyContinue
        $failed.Outcome | Should -Be 'Failed'

        $receipt = New-ProxmoxVm -Root $script:Root -Hostname files-core -Confirm:$false

        $receipt.Outcome | Should -Be 'Succeeded'
        $receipt.Summary | Should -Not -Match "already used"
        @(Get-TestProxmoxMutatingRequest $script:Pve | Where-Object { $_.path -like '*/clone' -and $_.status -eq 200 }).Count | Should -Be 1
    }

    It 'a lock refusal inside the resize task (PVE 8: resize is a task) is retried like an HTTP one' {
        Add-TestProxmoxFault $script:Pve @{ kind = 'FailTask'; taskType = 'resize'; message = 'VM is locked (backup)'; times = 1 }

        $receipt = New-ProxmoxVm -Root $script:Root -Hostname files-core -Confirm:$false

        $receipt.Outcome | Should -Be 'Succeeded'
        @(Get-TestProxmoxRequest $script:Pve | Where-Object { $_.method -eq 'PUT' -and $_.path -like '*/resize' }).Count | Should -Be 2
        (Get-TestProxmoxVm $script:Pve -VmId 216).config.scsi0 | Should -Match 'size=64G'
    }

    It 'the API URL of another node (as a VIP would be): pin rotation by a list, and node_fingerprint pinning the node itself' {
        # The emulator answers as node pve1; pve-fra1-a has a certificate of its own, as on a real cluster.
        $nodeFingerprint = (Invoke-RestMethod -Uri "$($script:Pve.Url)/api2/json/nodes" -SkipCertificateCheck -SkipHeaderValidation `
            -Headers @{ Authorization = "PVEAPIToken=$($script:Pve.TokenId)=$($script:Pve.Secret)" }).data |
            Where-Object node -eq 'pve-fra1-a' | Select-Object -ExpandProperty ssl_fingerprint
        $nodeFingerprint | Should -Not -Be $script:Pve.Fingerprint
        $config = Join-Path $script:Root 'ops' 'infra-relocation.yaml'
        $pinned = Get-Content $config -Raw
        $old = (@('AB') * 32) -join ':'
        $rotating = "node: `"pve-fra1-a`", fingerprint: [`"$old`", `"$($script:Pve.Fingerprint)`"]"
        $single = "node: `"pve-fra1-a`", fingerprint: `"$($script:Pve.Fingerprint)`""

        Set-Content $config $pinned.Replace($single, "$rotating, node_fingerprint: `"$old`"") -NoNewline
        $refused = New-ProxmoxVm -Root $script:Root -Hostname files-core -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
        $refused.Outcome | Should -Be 'Failed'
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ProvisionNodeIdentityMismatch,*'
        $err[0].Exception.Message | Should -Match ([regex]::Escape($nodeFingerprint))
        @(Get-TestProxmoxMutatingRequest $script:Pve).Count | Should -Be 0

        Set-Content $config $pinned.Replace($single, "$rotating, node_fingerprint: `"$nodeFingerprint`"") -NoNewline
        $receipt = New-ProxmoxVm -Root $script:Root -Hostname files-core -Confirm:$false
        $receipt.Outcome | Should -Be 'Succeeded'
        (Get-TestProxmoxVm $script:Pve -VmId 216).node | Should -Be 'pve-fra1-a'
    }

    It 'a profile''s pool: the clone joins it, with VM.Allocate checked on /pool/<pool> before any mutating request' {
        Invoke-TestProxmoxControl $script:Pve POST pools @{ poolid = 'relocation' } | Out-Null
        $profiles = Join-Path $script:Root 'ops' 'bindings' 'infra.vm.profiles.yaml'
        Set-Content $profiles ((Get-Content $profiles -Raw).Replace("`ndefaults:`n", "`ndefaults:`n  pool: `"relocation`"`n")) -NoNewline

        $preview = New-ProxmoxVm -Root $script:Root -Hostname files-core -WhatIf
        ($preview.Steps | Where-Object Name -eq 'clone').Parameters['pool'] | Should -Be 'relocation'
        $preview.Settings['pool'] | Should -Be 'relocation'

        Invoke-TestProxmoxControl $script:Pve POST deny @{ path = '/pool/relocation'; privilege = 'VM.Allocate' } | Out-Null
        $refused = New-ProxmoxVm -Root $script:Root -Hostname files-core -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
        $refused.Outcome | Should -Be 'Failed'
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ProvisionPrivilegeMissing,*'
        $err[0].Exception.Message | Should -Match 'VM\.Allocate on /pool/relocation'
        @(Get-TestProxmoxMutatingRequest $script:Pve).Count | Should -Be 0

        Invoke-TestProxmoxControl $script:Pve DELETE deny | Out-Null
        $receipt = New-ProxmoxVm -Root $script:Root -Hostname files-core -Confirm:$false
        $receipt.Outcome | Should -Be 'Succeeded'
        (Get-TestProxmoxMutatingRequest $script:Pve | Where-Object path -like '*/clone').parameters.pool | Should -Be 'relocation'
        (Invoke-TestProxmoxControl $script:Pve GET state).pools.relocation | Should -Be @($receipt.VmId)
    }

    It 'a pool that does not exist is the server''s clear refusal, and nothing is created' {
        $profiles = Join-Path $script:Root 'ops' 'bindings' 'infra.vm.profiles.yaml'
        Set-Content $profiles ((Get-Content $profiles -Raw).Replace("`ndefaults:`n", "`ndefaults:`n  pool: `"nowhere`"`n")) -NoNewline

        $receipt = New-ProxmoxVm -Root $script:Root -Hostname files-core -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue

        $receipt.Outcome | Should -Be 'Failed'
        $err[0].Exception.Message | Should -Match "pool 'nowhere' does not exist"
        @((Invoke-TestProxmoxControl $script:Pve GET state).vms | Where-Object { $_.config.name -eq 'files-core' }).Count | Should -Be 0
    }

    It 'a missing privilege is refused before any mutating request, naming the privilege and the path' {
        Invoke-TestProxmoxControl $script:Pve POST deny @{ path = '/vms/9002'; privilege = 'VM.Audit' } | Out-Null
        $manifestBefore = Get-Content (Join-Path $script:Root $script:Manifest) -Raw

        $receipt = New-ProxmoxVm -Root $script:Root -Hostname files-core -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue

        $receipt.Outcome | Should -Be 'Failed'
        $err[0].FullyQualifiedErrorId | Should -Be 'ProvisionPrivilegeMissing,InfraRelocation.Commands.Cmdlets.NewProxmoxVmCommand'
        $err[0].CategoryInfo.Category | Should -Be 'PermissionDenied'
        $err[0].Exception.Message | Should -Match 'VM\.Audit on /vms/9002'
        $err[0].Exception.Message | Should -Not -Match 'does not exist'
        @(Get-TestProxmoxMutatingRequest $script:Pve).Count | Should -Be 0
        Get-Content (Join-Path $script:Root $script:Manifest) -Raw | Should -Be $manifestBefore
    }

    It 'a VMID taken outside the estate between reservation and clone: the next free id of the range is used and recorded' {
        $path = Join-Path $script:Root $script:Manifest
        Set-Content $path ((Get-Content $path -Raw).Replace("  - vm_id: `"216`"`n    hostname: `"files-core`"", "  - hostname: `"files-core`"")) -NoNewline
        # The clone request is held up; once the run has reserved 200, another client (GUI, Terraform) creates VM 200.
        Add-TestProxmoxFault $script:Pve @{ kind = 'Delay'; method = 'POST'; pathContains = '/qemu/9002/clone'; delayMs = 3000; times = 1 }
        $outsider = Start-ThreadJob -ArgumentList $path, $script:Pve.Url {
            param($Manifest, $Url)
            $deadline = (Get-Date).AddSeconds(60)
            while ((Get-Content $Manifest -Raw) -notmatch "vm_id: '200'" -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 20 }
            $body = @{ vmid = 200; node = 'pve-fra1-a'; config = @{ name = 'made-by-terraform' } } | ConvertTo-Json
            Invoke-RestMethod -Uri "$Url/_emulator/vms" -Method Post -Body $body -ContentType 'application/json' -SkipCertificateCheck | Out-Null
        }

        $receipt = New-ProxmoxVm -Root $script:Root -Hostname files-core -Confirm:$false
        $outsider | Wait-Job | Receive-Job

        $receipt.Outcome | Should -Be 'Succeeded'
        $receipt.VmId | Should -Be 201
        Get-Content $path -Raw | Should -Match "vm_id: '201'"
        (Get-TestProxmoxVm $script:Pve -VmId 200).config.name | Should -Be 'made-by-terraform'
        (Get-TestProxmoxVm $script:Pve -VmId 201).config.name | Should -Be 'files-core'
    }
}
