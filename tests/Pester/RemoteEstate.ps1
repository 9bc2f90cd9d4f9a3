# Points a copy of the sample estate at local test servers (dot-source after SshFixture.ps1).
#   Set-TestSshTargets -Root $root -Default $vm -Map @{ 'pve-fra1-a' = $hv1 } [-Override @{ 'app-core' = @{ port = 1 } }]
#   Set-TestHealthUrls -Root $root -BaseUrl "http://127.0.0.1:$port" [-Override @{ wiki = '.../status/503' }]
#   Set-TestBackupTargets -Root $root -Folder $dir     (creates a fresh file per service; the backup inventory follows)
# Hypervisors (placement hosts of kind proxmox) get their host key pinned; the other hosts are pinned through a
# known_hosts file named by ssh.defaults.known_hosts_file. Every target keeps its id.

function Get-TestSshTargetIds([string]$Root) {
    $file = Join-Path $Root 'ops/bindings/ssh.targets.yaml'
    [regex]::Matches((Get-Content -Raw $file), '(?m)^\s*-\s*id:\s*"?([A-Za-z0-9._-]+)"?') | ForEach-Object { $_.Groups[1].Value }
}

function Set-TestSshTargets {
    param(
        [Parameter(Mandatory)][string]$Root,
        [Parameter(Mandatory)][object]$Default,
        [hashtable]$Map = @{},
        [hashtable]$Override = @{},
        [string[]]$ExtraIds = @()
    )
    $ids = @(Get-TestSshTargetIds $Root) + $ExtraIds | Select-Object -Unique
    $policy = Get-Content -Raw (Join-Path $Root 'ops/bindings/infra.placement.policy.yaml')
    $hypervisors = [regex]::Matches($policy, '(?m)^\s*([A-Za-z0-9._-]+):\s*\{[^}]*kind:\s*proxmox') | ForEach-Object { $_.Groups[1].Value }
    $known = Join-Path $Root 'ops/bindings/test_known_hosts'
    # One line per distinct server (Select-Object -Unique on the objects themselves would compare their
    # string forms, which are all alike, and keep only the first server).
    $servers = @($Default) + @($Map.Values)
    Set-Content -Path $known -Value ($servers | ForEach-Object KnownHostsLine | Select-Object -Unique)
    $lines = [System.Collections.Generic.List[string]]::new()
    $lines.Add('ssh:')
    $lines.Add('  defaults:')
    $lines.Add("    user: `"$($Default.User)`"")
    $lines.Add("    identity_file: `"$($Default.UserKeyPath)`"")
    $lines.Add('    known_hosts_file: "ops/bindings/test_known_hosts"')
    $lines.Add('    connect_timeout_sec: 5')
    $lines.Add('  targets:')
    foreach ($id in $ids) {
        $s = if ($Map.ContainsKey($id)) { $Map[$id] } else { $Default }
        $o = if ($Override.ContainsKey($id)) { $Override[$id] } else { @{} }
        $lines.Add("    - id: `"$id`"")
        $lines.Add("      host: `"$(if ($o.ContainsKey('host')) { $o.host } else { $s.Host })`"")
        $lines.Add("      port: $(if ($o.ContainsKey('port')) { $o.port } else { $s.Port })")
        if ($o.ContainsKey('host_key')) { $lines.Add("      host_key: `"$($o.host_key)`"") }
        elseif ($id -in $hypervisors) { $lines.Add("      host_key: `"$($s.HostKeyFingerprint)`"") }
        if ($o.ContainsKey('identity_file')) { $lines.Add("      identity_file: `"$($o.identity_file)`"") }
        $user = if ($o.ContainsKey('user')) { $o.user } elseif ($s.User -ne $Default.User) { $s.User }
        if ($user) { $lines.Add("      user: `"$user`"") }
    }
    Set-Content -Path (Join-Path $Root 'ops/bindings/ssh.targets.yaml') -Value $lines
}

function Set-TestHealthUrls {
    param([Parameter(Mandatory)][string]$Root, [Parameter(Mandatory)][string]$BaseUrl, [hashtable]$Override = @{})
    $file = Join-Path $Root 'ops/bindings/infra.relocation.plan.yaml'
    $service = $null
    $out = foreach ($line in Get-Content $file) {
        if ($line -match '^\s*-\s*service:\s*"?([A-Za-z0-9._-]+)"?') { $service = $Matches[1] }
        # A service without an HTTP endpoint (health_url: null) keeps none: the health binding has none for it either.
        if ($service -and $line -match '^(\s*)health_url:' -and $line -notmatch 'health_url:\s*null\b') {
            $url = if ($Override.ContainsKey($service)) { $Override[$service] } else { "$BaseUrl/svc/$service" }
            "$($Matches[1])health_url: `"$url`""
        } else { $line }
    }
    Set-Content -Path $file -Value $out
}

function Set-TestBackupTargets {
    param([Parameter(Mandatory)][string]$Root, [Parameter(Mandatory)][string]$Folder, [string[]]$Stale = @())
    $file = Join-Path $Root 'ops/bindings/infra.relocation.plan.yaml'
    $service = $null
    $moved = @{}
    $out = foreach ($line in Get-Content $file) {
        if ($line -match '^\s*-\s*service:\s*"?([A-Za-z0-9._-]+)"?') { $service = $Matches[1] }
        if ($service -and $line -match '^(\s*)backup_target:\s*"([A-Za-z0-9._-]+):([^"]*)"') {
            $dir = Join-Path $Folder $service
            New-Item -ItemType Directory -Force -Path $dir | Out-Null
            $dump = Join-Path $dir 'dump.tar.zst'
            Set-Content -Path $dump -Value 'backup'
            if ($service -in $Stale) { (Get-Item $dump).LastWriteTimeUtc = [DateTime]::UtcNow.AddDays(-10) }
            $moved[$Matches[3]] = $dir
            "$($Matches[1])backup_target: `"$($Matches[2]):$dir`""
        } else { $line }
    }
    Set-Content -Path $file -Value $out
    # The backup inventory follows (D35 checks that every backup_target is inventoried by host and base_path).
    $inventory = Join-Path $Root 'ops/bindings/backup.inventory.yaml'
    if (Test-Path $inventory) {
        $lines = foreach ($line in Get-Content $inventory) {
            if ($line -match '^(\s*)base_path:\s*"([^"]*)"' -and $moved.ContainsKey($Matches[2])) { "$($Matches[1])base_path: `"$($moved[$Matches[2]])`"" } else { $line }
        }
        Set-Content -Path $inventory -Value $lines
    }
}

# Appends a VM profile whose bootstrap runs only the given steps on the SSH host (no packages, no daemon checks):
#   Add-TestStepProfile -Root $root -Name test-v1 -Description '...' -Steps @(
#       @{ name = 'marker'; check = "test -f '/tmp/x'"; run = "touch '/tmp/x'" })
# -BootstrapLines adds raw YAML lines to the bootstrap section (indented by the helper), e.g. a cron hook;
# -ReadinessLines, when given, writes a readiness section of those lines (e.g. 'require_tailscale_connected: false').
function Add-TestStepProfile {
    param(
        [Parameter(Mandatory)][string]$Root,
        [Parameter(Mandatory)][string]$Name,
        [string]$Description = 'test: steps that run on the sshd host',
        [Parameter(Mandatory)][hashtable[]]$Steps,
        [string[]]$BootstrapLines = @(),
        [string[]]$ReadinessLines = @()
    )
    $yamlString = { param($s) '"' + ($s -replace '\\', '\\' -replace '"', '\"') + '"' }
    $lines = @(
        ''
        "  ${Name}:"
        "    description: $(& $yamlString $Description)"
        '    bootstrap:'
        '      package_manager: none'
        '      require_tailscale_connected: false'
        '      require_qemu_agent_running: false'
        '      require_docker_running: false'
        '      require_cron_running: false'
        foreach ($l in $BootstrapLines) { "      $l" }
        '      steps:'
        foreach ($s in $Steps) { "        - { name: $($s.name), check: $(& $yamlString $s.check), run: $(& $yamlString $s.run) }" }
        if ($ReadinessLines) { '    readiness:'; foreach ($l in $ReadinessLines) { "      $l" } }
    )
    Add-Content -Path (Join-Path $Root 'ops/bindings/infra.vm.profiles.yaml') -Value $lines
}
