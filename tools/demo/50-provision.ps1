# Demo step: New-ProxmoxVm against the Proxmox API emulator (a loopback process with a self-signed certificate).
# Runs in the demo's pwsh with the module imported and $DemoRoot = a throw-away copy of the sample estate.

. (Join-Path $RepoRoot 'tests' 'Pester' 'ProxmoxFixture.ps1')
if (-not (Get-TestProxmoxEmulatorPath)) {
    Write-DemoStep 'Provisioning: skipped (the Proxmox emulator is not built; run "./build.ps1 demo")'
    return
}

Write-DemoStep 'Provisioning: point the estate at a Proxmox API (here the emulator) and pin its certificate'
$pve = Start-TestProxmoxEmulator -TaskMs 400
$env:INFRA_RELOCATION_PVE_POLL_MS = '200'
try {
    # Rewrites proxmox.hosts.*.api_url + fingerprint in $DemoRoot/ops/infra-relocation.yaml, the token id, and
    # sets $env:INFRA_RELOCATION_PVE_TOKEN (the config names that variable; the secret is never in a file).
    Initialize-TestProxmoxEstate -Root $DemoRoot -Emulator $pve
    Write-Host "Emulator at $($pve.Url), certificate $($pve.Fingerprint.Substring(0, 23))..."
    Get-Content (Join-Path $DemoRoot 'ops' 'infra-relocation.yaml') | Select-String -Pattern '^proxmox:' -Context 0, 6 | Out-Host

    Write-DemoStep 'Preview: the exact calls, and nothing but GET requests are sent'
    Write-DemoCommand 'New-ProxmoxVm -Root $DemoRoot -Hostname files-core -WhatIf'
    $preview = New-ProxmoxVm -Root $DemoRoot -Hostname files-core -WhatIf
    $preview | Out-Host
    $mutating = @(Get-TestProxmoxMutatingRequest $pve).Count
    Write-Host "Mutating requests the preview sent: $mutating"
    if ($mutating -ne 0) { throw 'The preview sent a mutating request.' }

    Write-DemoStep 'Provision: clone, configure, resize, start, wait for the guest agent, record in the manifest'
    Write-DemoCommand 'New-ProxmoxVm -Root $DemoRoot -Hostname files-core -Confirm:$false'
    $receipt = New-ProxmoxVm -Root $DemoRoot -Hostname files-core -Confirm:$false
    $receipt | Out-Host
    $receipt.Steps | Out-Host
    if ($receipt.Outcome -ne 'Succeeded') { throw "Provisioning failed: $($receipt.Summary)" }
    Get-Content (Join-Path $DemoRoot 'ops' 'bindings' 'infra.relocation.plan.yaml') |
        Select-String -Pattern 'hostname: "files-core"' -Context 1, 7 | Out-Host

    Write-DemoStep 'Run it again: idempotent, nothing is sent but reads'
    Write-DemoCommand 'New-ProxmoxVm -Root $DemoRoot -Hostname files-core -Confirm:$false'
    $again = New-ProxmoxVm -Root $DemoRoot -Hostname files-core -Confirm:$false
    $again | Format-List Target, Outcome, VmId, Address, Summary -Force | Out-Host
    if ($again.Outcome -ne 'Unchanged') { throw 'The re-run should change nothing.' }

    Write-DemoStep 'Provision the rest of the plan: templates live on one node, VMs go to every node'
    # Template 9002 is on pve-fra1-a's local storage: VMs for pve-fra1-b are cloned there and migrated offline.
    Write-DemoCommand '(Get-RelocationManifest -Root $DemoRoot).VmTargets | Where-Object Hostname -ne files-core | New-ProxmoxVm -Root $DemoRoot -ThrottleLimit 4 -Confirm:$false'
    $rest = @((Get-RelocationManifest -Root $DemoRoot).VmTargets | Where-Object Hostname -ne files-core |
        New-ProxmoxVm -Root $DemoRoot -ThrottleLimit 4 -Confirm:$false)
    $rest | Format-Table Target, Outcome, VmId, Node, Address -AutoSize -Force | Out-Host
    $failed = @($rest | Where-Object Outcome -ne 'Succeeded')
    if ($rest.Count -ne 9 -or $failed) { throw "Provisioning the plan failed: $(@($failed | ForEach-Object Summary) -join '; ')" }
    $migrated = @(Get-TestProxmoxRequest $pve | Where-Object { $_.method -eq 'POST' -and $_.path -like '*/migrate' }).Count
    Write-Host "All ten VM targets provisioned; $migrated clone(s) migrated from the template's node to their own."
} finally {
    Stop-TestProxmoxEmulator $pve
    Remove-Item env:INFRA_RELOCATION_PVE_TOKEN, env:INFRA_RELOCATION_PVE_POLL_MS -ErrorAction Ignore
}
