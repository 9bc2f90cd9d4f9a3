# Real OpenSSH servers on 127.0.0.1 for Pester tests, the demo and benchmarks (dot-source this file): the TestKit's
# LoopbackSshServers (tests/InfraRelocation.TestKit/LoopbackSsh.cs), the same launcher as the xUnit SshServerFixture:
# a generated host key per server, one generated user key authorised for the current user, a temporary
# sshd_config, `sshd -D -e -f`, stopped by pid. As root with unshare, each server runs in its own UTS + mount
# namespace where fixture files are bound over /etc/hostname, /etc/hosts and /etc/machine-id (and a tmpfs over /run
# hides the system D-Bus), so identity probes and hostname changes are real but never reach this machine.
#
#   $hv = Start-TestSshServer -Name hv-east -Hostname pve -MachineId 0123...
#   ... $hv.Port, $hv.HostKeyFingerprint, $hv.UserKeyPath, $hv.User, $hv.KnownHostsLine ...
#   Stop-TestSshServer $hv        # or: Get-TestSshServer | Stop-TestSshServer
#
# Start-TestSshServer throws "SSH fixture unavailable: ..." when sshd cannot run; callers turn that into a skip
# (Test-TestSshServerAvailable returns the reason, or $null).

. (Join-Path $PSScriptRoot 'MachineFixture.ps1')   # Import-TestKit
$script:TestSshServers = [System.Collections.Generic.List[object]]::new()
$script:TestSshSet = $null

function Test-TestSshServerAvailable {
    [OutputType([string])]
    param()
    $why = Import-TestKit
    if ($why) { return $why }
    return [InfraRelocation.TestKit.LoopbackSshServers]::Unavailable()
}

# Whether servers get private UTS/mount namespaces here (root with unshare): hostname and machine-id scenarios need it.
function Test-TestSshIsolation {
    if (Import-TestKit) { return $false }
    return [InfraRelocation.TestKit.LoopbackSshServers]::CanIsolate()
}

function Get-TestSshFreePort {
    $null = Import-TestKit
    [InfraRelocation.TestKit.ServerProcess]::FreeLoopbackPort()
}

function Start-TestSshServer {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)][ValidatePattern('^[A-Za-z0-9._-]+$')][string]$Name,
        [string]$Hostname = $Name,
        [ValidatePattern('^[0-9a-fA-F]{32}$')][string]$MachineId = [guid]::NewGuid().ToString('N'),
        [string]$Fqdn,
        [int]$Port = 0
    )
    $reason = Test-TestSshServerAvailable
    if ($reason) { throw "SSH fixture unavailable: $reason" }
    try {
        if (-not $script:TestSshSet) { $script:TestSshSet = [InfraRelocation.TestKit.LoopbackSshServers]::new() }
        $s = $script:TestSshSet.Start($Name, $Hostname, $MachineId, $(if ($Fqdn) { $Fqdn } else { $null }), $false, $false, $Port)
    } catch {
        $e = $_.Exception
        while ($e.InnerException) { $e = $e.InnerException }
        throw "SSH fixture unavailable: $($e.Message)"
    }
    $server = [pscustomobject]@{
        PSTypeName         = 'InfraRelocation.TestSshServer'
        Name               = $Name
        Host               = $s.Host
        Port               = $s.Port
        User               = $script:TestSshSet.UserName
        UserKeyPath        = $script:TestSshSet.UserKeyPath
        HostKeyFingerprint = $s.HostKeyFingerprint
        KnownHostsLine     = $s.KnownHostsLine
        Hostname           = $s.Hostname
        MachineId          = $s.MachineId
        IsolatesIdentity   = $s.IsolatesIdentity
        Directory          = $s.Dir
        HostnameFile       = $s.HostnameFile
        LogPath            = $s.LogPath
        Process            = $s.Process
        Server             = $s
    }
    $script:TestSshServers.Add($server)
    return $server
}

function Get-TestSshServer { $script:TestSshServers.ToArray() }

function Stop-TestSshServer {
    [CmdletBinding()]
    param([Parameter(Mandatory, ValueFromPipeline)][object[]]$Server, [switch]$KeepFiles)
    process {
        foreach ($s in $Server) {
            # Kills this server's own process tree only (the listener and its session children).
            $s.Server.Kill()
            $null = $script:TestSshServers.Remove($s)
        }
    }
    end {
        if (-not $KeepFiles -and $script:TestSshServers.Count -eq 0 -and $script:TestSshSet) {
            $script:TestSshSet.Dispose()
            $script:TestSshSet = $null
        }
    }
}
