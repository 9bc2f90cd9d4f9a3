# Real Debian 12 machines for Pester tests and the demo (dot-source this file): the TestKit's TestMachineSet
# (tests/InfraRelocation.TestKit/TestMachine.cs: systemd-nspawn --boot on a cached mmdebstrap image, sshd on a
# free loopback port, stopped by pid). build.ps1 builds the TestKit and passes its path in
# $env:INFRA_RELOCATION_TESTKIT.
#
#   $reason = Test-TestMachineAvailable              # $null, or why machines cannot run here (tests skip with it)
#   $set = New-TestMachineSet
#   $m = $set.Start('app-core')                       # .Host .Port .Hostname .MachineId .HostKeyFingerprint .KnownHostsLine
#   $m.Run('systemctl is-active cron').Stdout         # a look at the machine with the OpenSSH client
#   ConvertTo-TestSshServer $m -User ops              # the shape RemoteEstate.ps1's Set-TestSshTargets expects
#   $set.Dispose()                                    # powers every machine off

function Import-TestKit {
    $dll = @($env:INFRA_RELOCATION_TESTKIT, (Join-Path $PSScriptRoot '..' '..' 'output' 'testkit' 'InfraRelocation.TestKit.dll')) |
        Where-Object { $_ -and (Test-Path $_) } | Select-Object -First 1
    if (-not $dll) { return 'the TestKit is not built: run "dotnet pwsh ./build.ps1 test" (output/testkit/).' }
    if (-not ('InfraRelocation.TestKit.TestMachineSet' -as [type])) { Add-Type -Path (Resolve-Path $dll).Path }
    return $null
}

function Test-TestMachineAvailable {
    [OutputType([string])]
    param()
    $why = Import-TestKit
    if ($why) { return $why }
    return [InfraRelocation.TestKit.TestMachineSet]::Unavailable()
}

function New-TestMachineSet {
    $why = Import-TestKit
    if ($why) { throw "Test machines unavailable: $why" }
    [InfraRelocation.TestKit.TestMachineSet]::new()
}

function ConvertTo-TestSshServer {
    param([Parameter(Mandatory)][object]$Machine, [string]$User = 'root', [Parameter(Mandatory)][string]$UserKeyPath)
    [pscustomobject]@{
        Name = $Machine.Name; Host = $Machine.Host; Port = $Machine.Port; User = $User; UserKeyPath = $UserKeyPath
        HostKeyFingerprint = $Machine.HostKeyFingerprint; KnownHostsLine = $Machine.KnownHostsLine
        Hostname = $Machine.Hostname; MachineId = $Machine.MachineId; Machine = $Machine
    }
}
