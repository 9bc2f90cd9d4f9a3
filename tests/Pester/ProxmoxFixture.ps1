# The Proxmox API emulator (tests/InfraRelocation.ProxmoxEmulator) as a process, for Pester tests and the demo.
# Dot-source this file. build.ps1 builds the emulator into output/emulator/ and passes its path in
# $env:INFRA_RELOCATION_EMULATOR.
#
#   $pve = Start-TestProxmoxEmulator                 # https://127.0.0.1:<port>, self-signed certificate
#   $pve.Url, $pve.Fingerprint, $pve.TokenId, $pve.Secret, $pve.Node
#   Initialize-TestProxmoxEstate -Root $root -Emulator $pve   # config -> emulator, nodes + template 9002
#   Get-TestProxmoxRequest $pve | Where-Object method -ne GET
#   Add-TestProxmoxFault $pve @{ kind = 'FailTask'; taskType = 'qmclone'; message = 'boom' }
#   Stop-TestProxmoxEmulator $pve
#
# Start-TestProxmoxEmulator throws "Proxmox emulator unavailable: ..." when the emulator is not built.

. (Join-Path $PSScriptRoot 'MachineFixture.ps1')   # Import-TestKit (ServerProcess)

function Get-TestProxmoxEmulatorPath {
    [OutputType([string])]
    param()
    $candidates = @(
        $env:INFRA_RELOCATION_EMULATOR
        (Join-Path $PSScriptRoot '..' '..' 'output' 'emulator' 'InfraRelocation.ProxmoxEmulator.dll')
    ) | Where-Object { $_ }
    foreach ($candidate in $candidates) {
        if (Test-Path $candidate) { return (Resolve-Path $candidate).Path }
    }
    return $null
}

function Start-TestProxmoxEmulator {
    # Started by the TestKit's ServerProcess, the launcher the xUnit fixtures and the sshd fixture use: a free
    # loopback port, output to a log file, ready when the port answers, stopped by its own pid (SIGTERM).
    [CmdletBinding()]
    param(
        # Default duration of every task, in milliseconds.
        [int] $TaskMs = 150,
        [string] $StatePath
    )
    $dll = Get-TestProxmoxEmulatorPath
    if (-not $dll) { throw 'Proxmox emulator unavailable: build it with "dotnet pwsh ./build.ps1 test" (output/emulator/).' }
    $why = Import-TestKit
    if ($why) { throw "Proxmox emulator unavailable: $why" }
    $port = [InfraRelocation.TestKit.ServerProcess]::FreeLoopbackPort()
    $log = Join-Path ([IO.Path]::GetTempPath()) "ir-emulator-$port-$([guid]::NewGuid().ToString('n').Substring(0, 8)).log"
    $arguments = @($dll, '--port', "$port", '--task-ms', "$TaskMs", '--no-stdin'; if ($StatePath) { '--state', $StatePath })
    try {
        $server = [InfraRelocation.TestKit.ServerProcess]::Start('dotnet', [string[]]$arguments, $log, $port, [TimeSpan]::FromSeconds(60), $false, $null)
    } catch {
        $e = $_.Exception
        while ($e.InnerException) { $e = $e.InnerException }
        throw "Proxmox emulator unavailable: $($e.Message)"
    }
    # The start line (url, fingerprint, token) is the emulator's first line of output; it follows the listen.
    $line = $null
    $deadline = [Diagnostics.Stopwatch]::StartNew()
    while (-not $line -and $deadline.Elapsed.TotalSeconds -lt 30) {
        $line = Get-Content -LiteralPath $log -TotalCount 1 -ErrorAction Ignore | Where-Object { $_.StartsWith('{') }
        if (-not $line) { Start-Sleep -Milliseconds 50 }
    }
    if (-not $line) {
        $server.Dispose()
        throw "Proxmox emulator unavailable: it printed no start line ($($server.LogTail()))."
    }
    $info = $line | ConvertFrom-Json
    [pscustomobject]@{
        PSTypeName  = 'InfraRelocation.Test.ProxmoxEmulator'
        Server      = $server
        Process     = $server.Process
        LogPath     = $log
        Url         = $info.url.TrimEnd('/')
        Fingerprint = $info.fingerprint
        TokenId     = $info.tokenId
        Secret      = $info.secret
        Node        = $info.node
    }
}

function Stop-TestProxmoxEmulator {
    [CmdletBinding()]
    param([Parameter(Mandatory, ValueFromPipeline)] $Emulator)
    process {
        $Emulator.Server.Dispose()
        Remove-Item -LiteralPath $Emulator.LogPath -ErrorAction Ignore
    }
}

function Invoke-TestProxmoxControl {
    # Calls a /_emulator/ control endpoint (loopback only, no auth).
    [CmdletBinding()]
    param(
        [Parameter(Mandatory, Position = 0)] $Emulator,
        [Parameter(Mandatory, Position = 1)] [string] $Method,
        [Parameter(Mandatory, Position = 2)] [string] $Path,
        [Parameter(Position = 3)] $Body
    )
    $params = @{ Uri = "$($Emulator.Url)/_emulator/$($Path.TrimStart('/'))"; Method = $Method; SkipCertificateCheck = $true }
    if ($null -ne $Body) { $params.Body = ($Body | ConvertTo-Json -Depth 5 -Compress); $params.ContentType = 'application/json' }
    Invoke-RestMethod @params
}

function Get-TestProxmoxRequest {
    # The emulator's request log (method, path, parameters with passwords masked, status).
    param([Parameter(Mandatory)] $Emulator)
    # Invoke-RestMethod writes an empty JSON array as one (empty) object: flatten it.
    @(Invoke-TestProxmoxControl $Emulator GET requests | ForEach-Object { $_ })
}

function Get-TestProxmoxMutatingRequest {
    param([Parameter(Mandatory)] $Emulator)
    @(Get-TestProxmoxRequest $Emulator | Where-Object { $_.method -in 'POST', 'PUT', 'DELETE' })
}

function Clear-TestProxmoxRequest {
    param([Parameter(Mandatory)] $Emulator)
    Invoke-TestProxmoxControl $Emulator DELETE requests | Out-Null
}

function Add-TestProxmoxFault {
    # e.g. @{ kind = 'FailTask'; taskType = 'qmclone'; message = '...' } or @{ kind = 'Status'; method = 'PUT'; pathContains = '/config'; status = 500; message = '...' }
    param([Parameter(Mandatory)] $Emulator, [Parameter(Mandatory)] [hashtable] $Fault)
    Invoke-TestProxmoxControl $Emulator POST faults $Fault | Out-Null
}

function Get-TestProxmoxFault {
    param([Parameter(Mandatory)] $Emulator)
    @(Invoke-TestProxmoxControl $Emulator GET faults | ForEach-Object { $_ })
}

function Get-TestProxmoxVm {
    param([Parameter(Mandatory)] $Emulator, [int] $VmId)
    $state = Invoke-TestProxmoxControl $Emulator GET state
    @($state.vms | Where-Object { -not $VmId -or $_.vmid -eq $VmId })
}

function Initialize-TestProxmoxEstate {
    <#
    .SYNOPSIS
        Points a copy of the sample estate at the emulator: proxmox.hosts api_url -> the emulator's URL with its
        pinned fingerprint, token_id -> the emulator's token; profiles' storage local-zfs -> local-lvm (what the
        emulator offers). Adds the nodes pve-fra1-a / pve-fra1-b / pve-ams1-a, template 9002 on pve-fra1-a (local
        storage: clones for pve-fra1-b are migrated), template 9302 on pve-ams1-a and the storage nvme-pool
        (db-host-v1's) to the emulator: every VM target of the sample plan can be provisioned.
        Sets $env:INFRA_RELOCATION_PVE_TOKEN to the token secret (the variable the sample config names).
    #>
    param([Parameter(Mandatory)] [string] $Root, [Parameter(Mandatory)] $Emulator, [switch] $NoSecretVariable)
    $config = Join-Path $Root 'ops' 'infra-relocation.yaml'
    $text = Get-Content $config -Raw
    $text = [regex]::Replace($text, 'https://pve-[a-z0-9-]+\.int\.example\.net:8006', $Emulator.Url)
    $text = [regex]::Replace($text, '(node: "pve-[a-z0-9-]+") \}', "`$1, fingerprint: `"$($Emulator.Fingerprint)`" }")
    $text = $text.Replace('token_id: "automation@pve!relocation"', "token_id: `"$($Emulator.TokenId)`"")
    Set-Content $config $text -NoNewline
    $profiles = Join-Path $Root 'ops' 'bindings' 'infra.vm.profiles.yaml'
    Set-Content $profiles ((Get-Content $profiles -Raw).Replace('storage: "local-zfs"', 'storage: "local-lvm"')) -NoNewline
    Invoke-TestProxmoxControl $Emulator POST nodes @{ name = 'pve-fra1-a' } | Out-Null
    Invoke-TestProxmoxControl $Emulator POST nodes @{ name = 'pve-fra1-b' } | Out-Null
    Invoke-TestProxmoxControl $Emulator POST nodes @{ name = 'pve-ams1-a' } | Out-Null
    Invoke-TestProxmoxControl $Emulator POST storages @{ storage = 'nvme-pool'; type = 'lvmthin'; content = 'images,rootdir'; shared = 0 } | Out-Null
    Invoke-TestProxmoxControl $Emulator POST templates @{ vmid = 9002; node = 'pve-fra1-a'; name = 'tpl-debian12' } | Out-Null
    Invoke-TestProxmoxControl $Emulator POST templates @{ vmid = 9302; node = 'pve-ams1-a'; name = 'tpl-debian12-dr' } | Out-Null
    if (-not $NoSecretVariable) { $env:INFRA_RELOCATION_PVE_TOKEN = $Emulator.Secret }
}
