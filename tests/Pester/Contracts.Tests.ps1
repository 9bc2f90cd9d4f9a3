# Cross-cutting contracts of the whole module, on copies of the sample estate wired to the Proxmox emulator
# (ProxmoxFixture.ps1) and loopback sshd instances (SshFixture.ps1):
#   1. -WhatIf has no side effects, for every cmdlet that supports ShouldProcess (discovered, not listed);
#   2. secrets (Proxmox token secret, mesh auth key) never reach any stream, error, receipt, journal or the API log;
#   3. Ctrl+C (PowerShell.Stop()) ends a hanging Proxmox task wait and a silent SSH connect within seconds;
#   4. a malformed manifest is one clear, located ErrorRecord for every cmdlet that takes -Root, changing nothing;
#   5. every estate used ends with an intact receipt chain.

BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'common.ps1')
    . (Join-Path $PSScriptRoot 'SshFixture.ps1')
    . (Join-Path $PSScriptRoot 'ProxmoxFixture.ps1')
    $script:skipReason = Test-TestSshServerAvailable
    if (-not $skipReason -and -not (Get-TestProxmoxEmulatorPath)) { $script:skipReason = 'the Proxmox emulator is not built' }
    if ($skipReason) { Write-Warning "Contract tests skipped: $skipReason" }
    $commands = Get-Command -Module InfraRelocation -CommandType Cmdlet
    $script:ShouldProcessCmdlets = @($commands | Where-Object { $_.Parameters.ContainsKey('WhatIf') } | ForEach-Object { @{ Name = $_.Name } })
    $script:RootCmdlets = @($commands | Where-Object { $_.Parameters.ContainsKey('Root') } | ForEach-Object { @{ Name = $_.Name } })
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    . (Join-Path $PSScriptRoot 'SshFixture.ps1')
    . (Join-Path $PSScriptRoot 'ProxmoxFixture.ps1')
    . (Join-Path $PSScriptRoot 'HttpFixture.ps1')
    . (Join-Path $PSScriptRoot 'RemoteEstate.ps1')
    $script:Manifest = 'ops/bindings/infra.relocation.plan.yaml'
    $script:Ns = 'InfraRelocation.Commands.Cmdlets'
    $script:WarningPreference = 'SilentlyContinue'
    $env:INFRA_RELOCATION_PVE_POLL_MS = '50'
    $script:UsedEstates = [Collections.Generic.List[string]]::new()

    function Get-EstateHash([string] $Root, [switch] $ExcludeState) {
        # Every file under the estate except the receipt ledger (and, with -ExcludeState, the tool's own journals).
        $h = [ordered]@{}
        Get-ChildItem $Root -Recurse -File -Force | Sort-Object FullName | ForEach-Object {
            $rel = [IO.Path]::GetRelativePath($Root, $_.FullName).Replace('\', '/')
            if ($rel -like 'receipts/*') { return }
            if ($ExcludeState -and $rel -like '.infra-relocation/*') { return }
            $h[$rel] = (Get-FileHash -LiteralPath $_.FullName).Hash
        }
        $h | ConvertTo-Json -Compress
    }

    function Get-Ledger([string] $Root) {
        $ledger = Join-Path $Root 'receipts' 'ledger.jsonl'
        if (Test-Path $ledger) { @(Get-Content $ledger | Where-Object { $_.Trim() } | ForEach-Object { $_ | ConvertFrom-Json }) } else { @() }
    }

    function Copy-Estate([string] $Name) {
        $target = New-TestEstate -From $script:BaseEstate -Name $Name
        $script:UsedEstates.Add($target)
        $target
    }

    function Get-AcceptedLogins {
        # SSH sessions the loopback servers accepted so far (a preview of a non-probing cmdlet opens none).
        $n = 0
        foreach ($s in Get-TestSshServer) { $n += @((Get-Content -Raw $s.LogPath) -split "`n" | Where-Object { $_ -match 'Accepted publickey' }).Count }
        $n
    }

    # Everything one run left behind, as text: every stream, errors with their details, Get-Error, $Error.
    function Get-RunText([object[]] $Output) {
        $sb = [Text.StringBuilder]::new()
        foreach ($o in $Output) {
            [void]$sb.AppendLine(($o | Out-String -Width 4096))
            if ($o -is [Management.Automation.ErrorRecord]) {
                [void]$sb.AppendLine($o.ErrorDetails.Message).AppendLine($o.Exception.ToString()).AppendLine($o.ScriptStackTrace)
                [void]$sb.AppendLine(($o | Get-Error | Out-String -Width 4096))
            } elseif ($o -isnot [string] -and $o -isnot [Management.Automation.InformationalRecord]) {
                [void]$sb.AppendLine(($o | ConvertTo-Json -Depth 8 -WarningAction Ignore))
            } else {
                [void]$sb.AppendLine($o.Message)
            }
        }
        foreach ($e in $global:Error) {
            [void]$sb.AppendLine("$e").AppendLine($e.Exception.ToString())
            if ($e -is [Management.Automation.ErrorRecord]) { [void]$sb.AppendLine($e.ErrorDetails.Message) }
        }
        $sb.ToString()
    }

    function Get-EstateStateText([string] $Root) {
        # Receipt ledger files and the tool's own journal/lease files.
        $files = @(Get-ChildItem (Join-Path $Root 'receipts'), (Join-Path $Root '.infra-relocation') -Recurse -File -Force -ErrorAction Ignore)
        ($files | ForEach-Object { [IO.File]::ReadAllText($_.FullName) }) -join "`n"
    }
}

Describe 'Module contracts' -Skip:([bool]$skipReason) {
    BeforeAll {
        $script:Pve = Start-TestProxmoxEmulator -TaskMs 150
        $script:Http = Start-TestHttpServer
        $script:Vm = Start-TestSshServer -Name c-vms -Hostname app-core
        $pins = @{
            'pve-fra1-a' = '3f9c2a1b7d4e4c0a9b8e6f5d4c3b2a19'
            'pve-fra1-b' = 'a0b1c2d3e4f5461788990a1b2c3d4e5f'
            'pve-ams1-a' = '5e6f708192a34b5c8d9e0f1a2b3c4d5e'
        }
        $script:HvMap = @{}
        foreach ($id in $pins.Keys) { $script:HvMap[$id] = Start-TestSshServer -Name "c-$id" -Hostname $id -MachineId $pins[$id] }
        $script:Isolated = $Vm.IsolatesIdentity

        # The base estate: Proxmox -> emulator, ssh targets -> loopback sshd, health -> loopback HTTP, backups -> fresh
        # files, preflight evidence for cutover, and test profiles whose steps touch marker files outside the estate.
        $base = New-TestEstate -Name contracts-base
        Initialize-TestProxmoxEstate -Root $base -Emulator $Pve
        Set-TestSshTargets -Root $base -Default $Vm -Map $HvMap
        Set-TestHealthUrls -Root $base -BaseUrl "http://127.0.0.1:$($Http.Port)"
        Set-TestBackupTargets -Root $base -Folder (Join-Path $TestDrive 'backups')
        # The cutover evidence: the real preflight against those loopback hosts (run again, up to three times, when a
        # probe misses its deadline on a loaded machine).
        foreach ($attempt in 1..3) {
            $pf = Invoke-RelocationPreflight -Root $base -Timeout 20 -WarningAction SilentlyContinue -ErrorAction SilentlyContinue |
                Where-Object { $_ -is [InfraRelocation.Receipts.PreflightReceipt] }
            if ($pf.Outcome -eq 'Passed') { break }
        }
        if ($pf.Outcome -ne 'Passed') {
            if ($Vm.IsolatesIdentity) { throw "The loopback preflight did not pass: $($pf.Summary)" }
            Write-Warning "The loopback preflight did not pass without private namespaces (identity): $($pf.Summary)"
        }
        Set-TestSsotReady $base 'bookmarks'
        $script:Work = (New-Item -ItemType Directory (Join-Path $TestDrive 'vm-files')).FullName
        $q = { param($p) "'" + $p + "'" }
        Add-TestStepProfile -Root $base -Name test-marker-v1 -Description 'test: one marker-file step on the sshd host' -Steps @(
            @{ name = 'marker'; check = "test -f $(& $q "$Work/marker")"; run = "touch $(& $q "$Work/marker")" })
        Add-TestStepProfile -Root $base -Name test-slow-v1 -Description 'test: a step that sleeps' -Steps @(
            @{ name = 'slow'; check = "test -f $(& $q "$Work/slow")"; run = "sleep 30 && touch $(& $q "$Work/slow")" })
        Add-Content -Path (Join-Path $base 'ops/bindings/infra.vm.profiles.yaml') -Value @"

  test-mesh-v1:
    description: "test: only the mesh join (tailscale is not installed on the test host, so it does not apply)"
    bootstrap:
      package_manager: none
      tailscale_auth_secret_key: "IR_CONTRACT_MESH_KEY"
      require_tailscale_connected: true
      require_qemu_agent_running: false
      require_docker_running: false
      require_cron_running: false
"@
        $script:BaseEstate = $base
        $script:UsedEstates.Add($base)
    }

    AfterAll {
        if ($script:Pve) { Stop-TestProxmoxEmulator $script:Pve }
        Get-TestSshServer | Stop-TestSshServer
        if ($script:Http) { $script:Http.Dispose() }
        Remove-Item env:INFRA_RELOCATION_PVE_TOKEN, env:IR_CONTRACT_MESH_KEY -ErrorAction Ignore
    }

    Context '1. -WhatIf has no side effects' {
        BeforeAll {
            # One known invocation per ShouldProcess cmdlet. Setup runs before the snapshot (it may change the copy);
            # Run gets the root and Setup's output. Ledger = $false: the cmdlet has no estate, so no ledger to append to.
            $script:WhatIfInvocations = @{
                'Export-RelocationReport'     = @{
                    Ledger = $false
                    Setup  = { param($Root) Invoke-RelocationGate -Root $Root -ErrorAction SilentlyContinue | Where-Object { $_ -is [InfraRelocation.Receipts.GateReceipt] } }
                    Run    = { param($Root, $In) $In | Export-RelocationReport -Format Sarif -Path (Join-Path $Root 'reports' 'gate.sarif') -WhatIf }
                }
                'Approve-RelocationEdit'      = @{
                    # A hand edit to adopt: the state a receipt set, changed back by hand.
                    Setup = {
                        param($Root)
                        Set-RelocationState -Root $Root -State cutover -ApprovedBy cab-chair -Force -Reason 'contract test: checklist forced' -Confirm:$false | Out-Null
                        Edit-EstateFile $Root $Manifest '^  state: "cutover"' '  state: "preflight"'
                    }
                    Run   = { param($Root) Approve-RelocationEdit -Root $Root -ApprovedBy cab-chair -WhatIf }
                }
                'Confirm-RelocationChecklistItem' = @{
                    # An impact run to confirm as reviewed.
                    Setup = { param($Root) Get-RelocationImpact -Root $Root | Out-Null }
                    Run   = { param($Root) Confirm-RelocationChecklistItem -Root $Root -Item ImpactReviewed -ConfirmedBy cab-chair -Evidence 'CAB-1' -WhatIf }
                }
                'Close-Relocation'            = @{
                    Setup = { param($Root) Edit-EstateFile $Root $Manifest '^  state: "preflight"' '  state: "complete"' }
                    Run   = { param($Root) Close-Relocation -Root $Root -WhatIf }
                }
                'Start-Relocation'            = @{
                    Setup = {
                        param($Root)
                        Edit-EstateFile $Root $Manifest '^  state: "preflight"' '  state: "complete"'
                        Close-Relocation -Root $Root -Confirm:$false | Out-Null
                    }
                    Run   = { param($Root) Start-Relocation -Root $Root -ChangeId CHG-NEXT -Owner '@ops' -WhatIf }
                }
                'Initialize-RelocationVm'     = @{ Run = { param($Root) Initialize-RelocationVm -Root $Root -Hostname app-core -Profile test-marker-v1 -WhatIf } }
                'New-RelocationEstate'        = @{
                    Ledger = $false
                    Setup  = { param($Root) (New-Item -ItemType Directory (Join-Path $Root 'new-repository')).FullName }
                    Run    = { param($Root, $In) New-RelocationEstate -Path $In -WhatIf }
                }
                'Invoke-RelocationPromotion'  = @{
                    Setup = {
                        param($Root)
                        Edit-EstateFile $Root $Manifest '^  state: "preflight"' '  state: "cutover"'
                        Edit-EstateFile $Root $Manifest '^  approved_by: null' '  approved_by: "cab-chair"'
                        Edit-EstateFile $Root $Manifest '(- service: "wiki"(?:\n(?!  - ).*)*?\n    status: )"[a-z-]+"' '$1"cutover"'
                    }
                    Run   = { param($Root) Invoke-RelocationPromotion -Root $Root -Service wiki -Probes 2 -IntervalSeconds 0.05 -WindowSeconds 10 -WhatIf }
                }
                'New-ProxmoxVm'               = @{ Run = { param($Root) New-ProxmoxVm -Root $Root -Hostname files-core -WhatIf } }
                'Invoke-RelocationRollback'   = @{
                    # A recorded move to roll back (the base estate's SSOTs are ready for bookmarks).
                    Setup = {
                        param($Root)
                        Set-RelocationState -Root $Root -State cutover -ApprovedBy cab-chair -Force -Reason 'contract test: checklist forced' -Confirm:$false | Out-Null
                        Set-RelocationServiceStatus -Root $Root -Service bookmarks -Status cutover -Confirm:$false | Out-Null
                        # How the service is stopped, started and restored (the registry's rollback commands).
                        Edit-EstateFile $Root 'ops/governance/SERVICE_REGISTRY.yaml' '^(    compose: /opt/stacks/bookmarks/docker-compose.yml\r?\n)' (
                            "`$1    unit: ir-bookmarks.service`n    commands:`n      verify_backup: `"true`"`n      restore: `"true`"`n")
                    }
                    Run   = { param($Root) Invoke-RelocationRollback -Root $Root -Service bookmarks -Reason 'contract test' -WhatIf }
                }
                'Set-HypervisorHostname'      = @{
                    # A preview still probes (read-only); without private namespaces the machine-id differs and it is refused.
                    Run = { param($Root) Set-HypervisorHostname -Root $Root -HostId pve-fra1-a -NewName pve-renamed -WhatIf -ErrorAction SilentlyContinue }
                    RequiresIsolation = $true
                    # The fixture's sshd has no /etc/pve/nodes: the read-only survey refuses (HypervisorRenameNotANode) and
                    # records that in preview mode. A previewed rename of a node: HypervisorRename.Tests.ps1.
                    Outcome = 'Blocked'
                }
                'Set-RelocationServiceStatus' = @{ Run = { param($Root) Set-RelocationServiceStatus -Root $Root -Service bookmarks -Status shadow -WhatIf } }
                'Set-RelocationState'         = @{ Run = { param($Root) Set-RelocationState -Root $Root -State cutover -ApprovedBy cab-chair -Force -Reason 'contract test: checklist forced' -WhatIf } }
                'Repair-RelocationReceiptChain' = @{ Ledger = $false; Run = { param($Root) Repair-RelocationReceiptChain -Root $Root -WhatIf } }
                'Set-RelocationVmTarget'      = @{ Run = { param($Root) Set-RelocationVmTarget -Root $Root -Hostname files-core -Status ready -Address 192.0.2.116 -WhatIf } }
            }
        }

        It '<Name> -WhatIf changes no file, sends no mutating request, runs nothing remotely and records a preview' -ForEach $ShouldProcessCmdlets {
            $inv = $WhatIfInvocations[$Name]
            if (-not $inv) { throw "$Name supports ShouldProcess but has no known -WhatIf invocation in Contracts.Tests.ps1: add one." }
            $root = Copy-Estate ($Name.ToLowerInvariant())
            $in = if ($inv.Setup) { & $inv.Setup $root }
            $before = Get-EstateHash $root
            $ledgerBefore = @(Get-Ledger $root).Count
            $hostnames = @(Get-TestSshServer | ForEach-Object { Get-Content -Raw $_.HostnameFile })
            Clear-TestProxmoxRequest $Pve
            $logins = Get-AcceptedLogins

            $out = & $inv.Run $root $in 6>&1

            Get-EstateHash $root | Should -Be $before -Because 'a preview writes no estate file (nor journal or lease)'
            @(Get-TestProxmoxMutatingRequest $Pve) | ForEach-Object { "$($_.method) $($_.path)" } | Should -BeNullOrEmpty
            Test-Path (Join-Path $Work 'marker') | Should -BeFalse
            @(Get-TestSshServer | ForEach-Object { Get-Content -Raw $_.HostnameFile }) | Should -Be $hostnames
            if ($Name -ne 'Set-HypervisorHostname') { Get-AcceptedLogins | Should -Be $logins -Because 'only a hostname preview probes over SSH' }
            if ($inv.ContainsKey('Ledger') -and -not $inv.Ledger) {
                Test-Path (Join-Path $root 'reports') | Should -BeFalse -Because 'the report is not written'
                $out | Where-Object { $_ -is [InfraRelocation.Receipts.RelocationReceipt] } | Should -BeNullOrEmpty
            } elseif (-not $inv.RequiresIsolation -or $Isolated) {
                $new = @(Get-Ledger $root | Select-Object -Skip $ledgerBefore)
                $new.Count | Should -BeGreaterOrEqual 1
                $new.receipt.Mode | Sort-Object -Unique | Should -Be 'Preview'
                $new.receipt.Outcome | Sort-Object -Unique | Should -Be $(if ($inv.Outcome) { $inv.Outcome } else { 'Previewed' })
            }
        }
    }

    Context '2. Secrets never leak' {
        BeforeAll {
            $script:MeshKey = "ir-mesh-key-$([guid]::NewGuid().ToString('n'))"
            $script:BadSecret = "ir-bad-token-$([guid]::NewGuid().ToString('n'))"
            $script:SRoot = Copy-Estate secrets
            function Assert-NoSecret([string] $Text, [string[]] $Secret) {
                $Text.Length | Should -BeGreaterThan 0
                foreach ($s in $Secret) { $Text.Contains($s) | Should -BeFalse -Because "the secret must not appear" }
            }
        }

        It 'New-ProxmoxVm (success, failing task, bad token) and Get-VmReadiness -ApiToken never show the token secret' {
            $global:Error.Clear()
            $token = [pscredential]::new($Pve.TokenId, (ConvertTo-SecureString $Pve.Secret -AsPlainText -Force))
            $ok = New-ProxmoxVm -Root $SRoot -Hostname files-core -ApiToken $token -Confirm:$false -Verbose -Debug *>&1
            ($ok | Where-Object { $_ -is [InfraRelocation.Receipts.ProvisionReceipt] }).Outcome | Should -Be 'Succeeded'
            Add-TestProxmoxFault $Pve @{ kind = 'FailTask'; taskType = 'qmclone'; message = 'storage full' }
            $failed = New-ProxmoxVm -Root $SRoot -Hostname ci-runner -Confirm:$false -Verbose -Debug -ErrorAction Continue *>&1
            ($failed | Where-Object { $_ -is [InfraRelocation.Receipts.ProvisionReceipt] }).Outcome | Should -Be 'Failed'
            $bad = [pscredential]::new($Pve.TokenId, (ConvertTo-SecureString $BadSecret -AsPlainText -Force))
            $refused = New-ProxmoxVm -Root $SRoot -Hostname ci-runner -ApiToken $bad -Confirm:$false -Verbose -Debug -ErrorAction Continue *>&1
            ($refused | Where-Object { $_ -is [Management.Automation.ErrorRecord] }).CategoryInfo.Category | Should -Contain 'AuthenticationError'
            $ready = Get-VmReadiness -Root $SRoot -Hostname files-core -ApiToken $token -Verbose -Debug -ErrorAction Continue *>&1
            ($ready | Where-Object { $_ -is [InfraRelocation.Remote.ReadinessCheck] -and $_.Check -eq 'vm_running' }).Status | Should -Be 'Ok'
            $readyBad = Get-VmReadiness -Root $SRoot -Hostname files-core -ApiToken $bad -Verbose -Debug -ErrorAction Continue *>&1

            Assert-NoSecret (Get-RunText @($ok + $failed + $refused + $ready + $readyBad)) $Pve.Secret, $BadSecret
            Assert-NoSecret (Get-EstateStateText $SRoot) $Pve.Secret, $BadSecret
            Assert-NoSecret (Get-TestProxmoxRequest $Pve | ConvertTo-Json -Depth 6) $Pve.Secret, $BadSecret
        }

        It 'Initialize-RelocationVm -AuthKey / its environment variable with -Verbose -Debug never shows the mesh key' -Skip:([bool](Get-Command tailscale -ErrorAction Ignore)) {
            $global:Error.Clear()
            $key = ConvertTo-SecureString $MeshKey -AsPlainText -Force
            $viaParam = Initialize-RelocationVm -Root $SRoot -Hostname app-core -Profile test-mesh-v1 -AuthKey $key -Confirm:$false -Verbose -Debug -ErrorAction Continue *>&1
            $row = $viaParam | Where-Object { $_ -is [InfraRelocation.Remote.BootstrapStepResult] -and $_.Step -eq 'mesh:tailscale' }
            $row.State | Should -Be 'NotApplicable' -Because 'tailscale is not installed here: its check ran, the join does not apply'
            $env:IR_CONTRACT_MESH_KEY = $MeshKey
            try {
                $viaEnv = Initialize-RelocationVm -Root $SRoot -Hostname app-core -Profile test-mesh-v1 -Confirm:$false -Verbose -Debug -ErrorAction Continue *>&1
            } finally { Remove-Item env:IR_CONTRACT_MESH_KEY }
            ($viaEnv | Where-Object { $_ -is [InfraRelocation.Remote.BootstrapStepResult] -and $_.Step -eq 'mesh:tailscale' }).State | Should -Be 'NotApplicable'
            Assert-NoSecret (Get-RunText @($viaParam + $viaEnv)) $MeshKey
            Assert-NoSecret (Get-EstateStateText $SRoot) $MeshKey
            Assert-NoSecret ((Get-TestSshServer | ForEach-Object { Get-Content -Raw $_.LogPath }) -join "`n") $MeshKey
        }
    }

    Context '3. Ctrl+C stops a network wait within seconds' {
        BeforeAll {
            function Stop-After([string] $Script, [scriptblock] $Ready, [int] $DelayMs = 1000) {
                # Runs $Script in a new runspace of this pwsh (module imported), waits until it started the command and
                # $Ready is true, then ~1 s, then Stop(); returns how long Stop() took and the runspace's state.
                # The callers bound Stop() at 20 s: not a speed goal but a hang guard, far from the 30 to 600 s the
                # waits take when Ctrl+C is ignored, and far from what a loaded machine adds to an immediate stop.
                $started = Join-Path $TestDrive "started-$([guid]::NewGuid().ToString('n'))"
                $ps = [powershell]::Create()
                try {
                    $null = $ps.AddScript("Import-Module '$($BuiltManifest -replace "'", "''")'; `$WarningPreference = 'SilentlyContinue'; [IO.File]::WriteAllText('$started', ''); $Script")
                    $async = $ps.BeginInvoke()
                    $deadline = [DateTime]::UtcNow.AddSeconds(60)
                    while (-not ((Test-Path $started) -and (& $Ready))) {
                        if ($async.IsCompleted) { throw "the operation ended before it could be stopped: $($ps.Streams.Error | Out-String)" }
                        if ([DateTime]::UtcNow -gt $deadline) { throw 'the operation never reached its network wait' }
                        Start-Sleep -Milliseconds 50
                    }
                    Start-Sleep -Milliseconds $DelayMs
                    $async.IsCompleted | Should -BeFalse -Because 'the operation is still waiting when Ctrl+C comes'
                    $sw = [Diagnostics.Stopwatch]::StartNew()
                    $ps.Stop()
                    $sw.Stop()
                    [pscustomobject]@{ Seconds = $sw.Elapsed.TotalSeconds; State = $ps.InvocationStateInfo.State; Errors = @($ps.Streams.Error) }
                } finally { $ps.Dispose() }
            }
        }

        It 'New-ProxmoxVm waiting on a hanging clone task' {
            # A second emulator, so the VMs the other contexts build do not matter.
            $pve2 = Start-TestProxmoxEmulator -TaskMs 150
            $savedToken = $env:INFRA_RELOCATION_PVE_TOKEN
            try {
                $root = New-TestEstate -Name cancel-pve
                $script:UsedEstates.Add($root)
                Initialize-TestProxmoxEstate -Root $root -Emulator $pve2
                $before = Get-EstateHash $root -ExcludeState
                Add-TestProxmoxFault $pve2 @{ kind = 'HangTask'; taskType = 'qmclone' }
                $r = Stop-After "New-ProxmoxVm -Root '$root' -Hostname files-core -Confirm:`$false -Timeout 600" {
                    Get-TestProxmoxRequest $pve2 | Where-Object { $_.method -eq 'POST' -and $_.path -like '*/clone' }
                }
                $r.Seconds | Should -BeLessThan 20
                $r.State | Should -Be 'Stopped'
                Get-EstateHash $root -ExcludeState | Should -Be $before
                (Get-RelocationManifest -Root $root).VmTargets.Count | Should -BeGreaterThan 0 -Because 'the estate still loads'
            } finally {
                $env:INFRA_RELOCATION_PVE_TOKEN = $savedToken
                Stop-TestProxmoxEmulator $pve2
            }
        }

        It 'Invoke-RelocationPreflight connecting to a host that accepts TCP and never answers' {
            $hole = Start-TestBlackHole
            try {
                $root = Copy-Estate cancel-ssh
                Set-TestSshTargets -Root $root -Default $Vm -Map $HvMap -Override @{ 'app-core' = @{ port = $hole.Port } }
                $before = Get-EstateHash $root -ExcludeState
                $r = Stop-After "Invoke-RelocationPreflight -Root '$root' -Timeout 300" { $hole.Accepted -gt 0 }
                $r.Seconds | Should -BeLessThan 20
                $r.State | Should -Be 'Stopped'
                Get-EstateHash $root -ExcludeState | Should -Be $before
            } finally { $hole.Dispose() }
        }

        It 'Initialize-RelocationVm running a remote step that sleeps' {
            $root = Copy-Estate cancel-boot
            $before = Get-EstateHash $root -ExcludeState
            $logins = Get-AcceptedLogins
            $r = Stop-After "Initialize-RelocationVm -Root '$root' -Hostname app-core -Profile test-slow-v1 -Confirm:`$false" { (Get-AcceptedLogins) -gt $logins } -DelayMs 1500
            $r.Seconds | Should -BeLessThan 20
            $r.State | Should -Be 'Stopped'
            Get-EstateHash $root -ExcludeState | Should -Be $before
        }

        It 'Invoke-RelocationPromotion probing a health endpoint that answers slowly' {
            $root = Copy-Estate cancel-promote
            Edit-EstateFile $root $Manifest '^  state: "preflight"' '  state: "cutover"'
            Edit-EstateFile $root $Manifest '^  approved_by: null' '  approved_by: "cab-chair"'
            Edit-EstateFile $root $Manifest '(- service: "wiki"(?:\n(?!  - ).*)*?\n    status: )"[a-z-]+"' '$1"cutover"'
            Edit-EstateFile $root $Manifest '(- service: "wiki"(?:\n(?!  - ).*)*?\n    health_url: )"[^"]+"' "`$1`"http://127.0.0.1:$($Http.Port)/slow/60000`""
            $before = Get-EstateHash $root -ExcludeState
            $n = $Http.Requests
            $r = Stop-After "Invoke-RelocationPromotion -Root '$root' -Service wiki -Probes 2 -TimeoutSeconds 120 -WindowSeconds 300 -Confirm:`$false" { $Http.Requests -gt $n }
            $r.Seconds | Should -BeLessThan 20
            $r.State | Should -Be 'Stopped'
            Get-EstateHash $root -ExcludeState | Should -Be $before
        }

        It 'Set-RelocationServiceStatus waiting for the estate lease another live process holds' {
            $root = Copy-Estate cancel-lease
            New-Item -ItemType Directory -Force (Join-Path $root '.infra-relocation') | Out-Null
            $lease = Join-Path $root '.infra-relocation' 'lease.json'
            $start = (Get-Process -Id $PID).StartTime.ToUniversalTime().ToString('o')
            $now = [DateTime]::UtcNow.ToString('o')
            @{ Owner = 'contract-test'; Pid = $PID; ProcessStartUtc = $start; Machine = [Environment]::MachineName
               AcquiredUtc = $now; RenewedUtc = $now; Purpose = 'held by the test'; Token = 'contract' } | ConvertTo-Json | Set-Content $lease
            try {
                $before = Get-EstateHash $root
                $r = Stop-After "Set-RelocationServiceStatus -Root '$root' -Service bookmarks -Status shadow -LeaseTimeoutSeconds 600 -Confirm:`$false" { $true } -DelayMs 1500
                $r.Seconds | Should -BeLessThan 20
                $r.State | Should -Be 'Stopped'
                Get-EstateHash $root | Should -Be $before -Because 'the waiter neither wrote nor broke the live lease'
            } finally { Remove-Item $lease }
        }

        It 'Invoke-RelocationRollback waiting for the estate lease before it writes the values back' {
            # A recorded move, rolled back on the loopback host (a marker file is the service), up to its revert step,
            # which waits for the lease this process holds. Ctrl+C ends that wait, and the Cancelled receipt is recorded
            # once the run has stopped: its steps are those the journal keeps.
            $root = Copy-Estate cancel-rollback
            Set-RelocationState -Root $root -State cutover -ApprovedBy cab-chair -Force -Reason 'contract test: checklist forced' -Confirm:$false | Out-Null
            Set-RelocationServiceStatus -Root $root -Service bookmarks -Status cutover -Confirm:$false | Out-Null
            $running = "'" + (Join-Path $Work 'rollback-running') + "'"
            Edit-EstateFile $root 'ops/governance/SERVICE_REGISTRY.yaml' '^(    compose: /opt/stacks/bookmarks/docker-compose.yml\r?\n)' (
                "`$1    commands:`n      stop: `"rm -f $running`"`n      start: `"touch $running`"`n      running: `"test -f $running`"`n" +
                "      verify_backup: `"true`"`n      restore: `"true`"`n")
            $lease = Join-Path $root '.infra-relocation' 'lease.json'
            $now = [DateTime]::UtcNow.ToString('o')
            @{ Owner = 'contract-test'; Pid = $PID; ProcessStartUtc = (Get-Process -Id $PID).StartTime.ToUniversalTime().ToString('o'); Machine = [Environment]::MachineName
               AcquiredUtc = $now; RenewedUtc = $now; Purpose = 'held by the test'; Token = 'contract' } | ConvertTo-Json | Set-Content $lease
            try {
                $before = Get-EstateHash $root -ExcludeState
                $journal = Join-Path $root '.infra-relocation' 'rollback' 'bookmarks.json'
                $r = Stop-After "Invoke-RelocationRollback -Root '$root' -Service bookmarks -Reason 'contract test' -RoutingConfirmed -LeaseTimeoutSeconds 90 -Confirm:`$false" {
                    (Test-Path $journal) -and ((Get-Content -Raw $journal | ConvertFrom-Json).Steps | Where-Object Name -eq 'revert').StartedUtc
                }
                $r.Seconds | Should -BeLessThan 20 -Because 'the revert waits for the lease, and Ctrl+C ends that wait (a wait that ignored it lasted the 90 s)'
                $r.State | Should -Be 'Stopped'
                Get-EstateHash $root -ExcludeState | Should -Be $before -Because 'nothing was written back'
                $left = (Get-Content -Raw $journal | ConvertFrom-Json).Steps
                ($left | Where-Object Name -eq 'revert').State | Should -Be 'Planned'
                ($left | Where-Object Name -eq 'start').State | Should -Be 'Done'
                $receipt = (Get-Ledger $root)[-1].receipt
                $receipt.outcome | Should -Be 'Cancelled'
                @($receipt.steps | ForEach-Object { "$($_.step)=$($_.state)" }) | Should -Be @($left | ForEach-Object { "$($_.Name)=$($_.State)" })
            } finally { Remove-Item $lease -ErrorAction Ignore }
        }
    }

    Context '4. A malformed manifest is one clear error' {
        BeforeAll {
            # Cmdlets that do not read the manifest, and why.
            $script:NoManifest = @{
                'Get-RelocationEstate'        = 'lists the estate files and their digests without parsing them'
                'Get-RelocationReceipt'       = 'reads the receipt ledger only'
                'Test-RelocationReceiptChain' = 'reads the receipt ledger only'
                'Repair-RelocationReceiptChain' = 'reads and repairs the receipt ledger only'
            }
            # Mandatory arguments per cmdlet (the rest take none).
            $script:Arguments = @{
                'Get-VmReadiness'             = @{ Hostname = 'app-core' }
                'Close-Relocation'            = @{ Confirm = $false }
                'Approve-RelocationEdit'      = @{ ApprovedBy = 'cab-chair'; Confirm = $false }
                'Confirm-RelocationChecklistItem' = @{ Item = 'ImpactReviewed'; ConfirmedBy = 'cab-chair'; Evidence = 'CAB-1'; Confirm = $false }
                'Start-Relocation'            = @{ ChangeId = 'CHG-NEXT'; Owner = '@ops'; Confirm = $false }
                'Initialize-RelocationVm'     = @{ Hostname = 'app-core'; Profile = 'test-marker-v1'; Confirm = $false }
                'Invoke-RelocationPromotion'  = @{ Service = 'wiki'; Confirm = $false }
                'New-ProxmoxVm'               = @{ Hostname = 'files-core'; Confirm = $false }
                'Invoke-RelocationRollback'   = @{ Service = 'bookmarks'; Reason = 'contract test'; Confirm = $false }
                'Set-HypervisorHostname'      = @{ HostId = 'pve-fra1-a'; Confirm = $false }
                'Set-RelocationServiceStatus' = @{ Service = 'bookmarks'; Status = 'shadow'; Confirm = $false }
                'Set-RelocationState'         = @{ State = 'cutover'; ApprovedBy = 'cab-chair'; Confirm = $false }
                'Set-RelocationVmTarget'      = @{ Hostname = 'files-core'; Status = 'ready'; Confirm = $false }
            }
            $script:BadRoot = Copy-Estate malformed
            # A tab-indented line inside the active_relocation mapping.
            Edit-EstateFile $BadRoot $Manifest '^(  state: "preflight")$' "`$1`n`tnote: tab-indented"
            $script:BadLine = ((Get-Content (Join-Path $BadRoot $Manifest)) | Select-String -SimpleMatch "`tnote:").LineNumber
        }

        It '<Name> -Root (a malformed estate)' -ForEach $RootCmdlets {
            if ($NoManifest.ContainsKey($Name)) {
                # It must then work on the malformed estate as on any other.
                & $Name -Root $BadRoot -ErrorAction SilentlyContinue -ErrorVariable ev | Out-Null
                $ev | Should -BeNullOrEmpty -Because "$Name $($NoManifest[$Name])"
                return
            }
            $before = Get-EstateHash $BadRoot
            $ledgerBefore = if (Test-Path (Join-Path $BadRoot 'receipts')) { (Get-ChildItem (Join-Path $BadRoot 'receipts') -Recurse -File | Get-FileHash).Hash -join ',' } else { '' }
            $params = @{ Root = $BadRoot }
            if ($Arguments.ContainsKey($Name)) { $params += $Arguments[$Name] }
            $class = (Get-Command $Name).ImplementingType.Name
            $thrown = $null
            try { & $Name @params -ErrorAction SilentlyContinue -ErrorVariable ev | Out-Null } catch { $thrown = $PSItem }
            $errors = @(@($ev) + @($thrown) | Where-Object { $_ } | ForEach-Object {
                    if ($_ -is [Management.Automation.ErrorRecord]) { $_ } elseif ($_.ErrorRecord) { $_.ErrorRecord } else { $_ } } |
                Group-Object { if ($_.Exception) { $_.Exception.GetHashCode() } else { $_.GetHashCode() } } | ForEach-Object { $_.Group[0] })
            $errors.Count | Should -Be 1 -Because ($errors | ForEach-Object { "$($_.FullyQualifiedErrorId): $_" } | Out-String)
            $e = $errors[0]
            $e.FullyQualifiedErrorId | Should -Match ",$([regex]::Escape("$Ns.$class"))$"
            $e.CategoryInfo.Category | Should -Not -Be 'NotSpecified'
            $e.ErrorDetails.Message | Should -Match "infra\.relocation\.plan\.yaml:$($BadLine):\d+"
            $e.Exception.Message | Should -Not -Match '(?m)^\s+at \S+\('
            $e.ErrorDetails.Message | Should -Not -Match '(?m)^\s+at \S+\('
            Get-EstateHash $BadRoot | Should -Be $before
            $ledgerAfter = if (Test-Path (Join-Path $BadRoot 'receipts')) { (Get-ChildItem (Join-Path $BadRoot 'receipts') -Recurse -File | Get-FileHash).Hash -join ',' } else { '' }
            $ledgerAfter | Should -Be $ledgerBefore -Because 'bad input writes no receipt either'
        }
    }

    Context '5. Receipt chains' {
        It 'every estate used above has an intact receipt chain' {
            foreach ($root in $UsedEstates | Select-Object -Unique) {
                if ($root -eq $BadRoot -or -not (Test-Path (Join-Path $root 'receipts' 'ledger.jsonl'))) { continue }
                $chain = Test-RelocationReceiptChain -Root $root
                $chain | Out-String | Write-Verbose
                $chain.IsValid | Should -BeTrue -Because "$root breaks at line $($chain.BrokenAtLine) ($($chain.Break))"
            }
        }
    }
}
