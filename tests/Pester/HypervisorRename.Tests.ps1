# Set-HypervisorHostname's Proxmox rename on a real Debian 12 machine (tests/Pester/MachineFixture.ps1) laid out like a
# standalone Proxmox node: the test writes /etc/hosts, /etc/pve/nodes/<name>/ (a node certificate and status file) and,
# per scenario, a corosync.conf or a guest config. There is no pmxcfs and no pvecm on the machine: /etc/pve is a plain
# directory, and the certificate step says it did not run. Skipped, with the reason, when machines cannot run here.

BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'MachineFixture.ps1')
    $script:skipReason = Test-TestMachineAvailable
    if ($skipReason) { Write-Warning "Hypervisor rename tests skipped: $skipReason" }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    . (Join-Path $PSScriptRoot 'MachineFixture.ps1')
    . (Join-Path $PSScriptRoot 'RemoteEstate.ps1')

    # A self-signed node certificate for 'pve-old', as pvecm would issue one (SAN DNS:<node>).
    function New-NodeCertificatePem([string]$Name) {
        $key = [System.Security.Cryptography.RSA]::Create(2048)
        $req = [System.Security.Cryptography.X509Certificates.CertificateRequest]::new("CN=$Name.int.example.net", $key,
            [System.Security.Cryptography.HashAlgorithmName]::SHA256, [System.Security.Cryptography.RSASignaturePadding]::Pkcs1)
        $san = [System.Security.Cryptography.X509Certificates.SubjectAlternativeNameBuilder]::new()
        $san.AddDnsName($Name); $san.AddDnsName("$Name.int.example.net")
        $req.CertificateExtensions.Add($san.Build())
        $cert = $req.CreateSelfSigned([DateTimeOffset]::UtcNow.AddDays(-1), [DateTimeOffset]::UtcNow.AddYears(2))
        [pscustomobject]@{
            Pem = $cert.ExportCertificatePem(); KeyPem = $key.ExportPkcs8PrivateKeyPem()
            Fingerprint = (($cert.GetCertHash([System.Security.Cryptography.HashAlgorithmName]::SHA256) | ForEach-Object { $_.ToString('X2') }) -join ':')
        }
    }
    function Write-MachineFile($Machine, [string]$Path, [string]$Text) {
        $b64 = [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($Text))
        $r = $Machine.Run("mkdir -p `"`$(dirname '$Path')`" && echo '$b64' | base64 -d > '$Path'")
        $r.ExitCode | Should -Be 0 -Because $r.Stderr
    }
    # The node as Proxmox lays it out, named pve-old, with nothing else: no cluster, no guests.
    function Reset-Node($Machine) {
        $r = $Machine.Run('rm -rf /etc/pve /etc/corosync /etc/mailname /etc/postfix /var/lib/rrdcached && hostnamectl set-hostname pve-old')
        $r.ExitCode | Should -Be 0 -Because $r.Stderr
        Write-MachineFile $Machine /etc/hosts ("127.0.0.1 localhost`n# the node's address: Proxmox resolves the node name through this file`n" +
            "10.0.0.5 pve-old.int.example.net pve-old`n::1 localhost ip6-localhost ip6-loopback`n")
        Write-MachineFile $Machine /etc/pve/nodes/pve-old/pve-ssl.pem $script:cert.Pem
        Write-MachineFile $Machine /etc/pve/nodes/pve-old/pve-ssl.key $script:cert.KeyPem
        Write-MachineFile $Machine /etc/pve/nodes/pve-old/lrm_status '{"mode":"active","state":"wait_for_agent_lock"}'
    }
    # Every file under /etc with its SHA-256: what changed is the difference of two of these.
    function Get-EtcState($Machine) {
        $out = $Machine.Run("find /etc -xdev -type f -print0 | sort -z | xargs -0 sha256sum").Stdout
        $map = @{}
        foreach ($line in $out -split "`n" | Where-Object { $_ }) { $map[$line.Substring(66)] = $line.Substring(0, 64) }
        $map
    }
    function Compare-EtcState($Before, $After) {
        @(@($Before.Keys) + @($After.Keys) | Select-Object -Unique | Where-Object { $Before[$_] -ne $After[$_] } | Sort-Object)
    }
}

Describe 'Set-HypervisorHostname renames a standalone Proxmox node on a real Debian 12 machine' -Skip:([bool]$skipReason) {
    BeforeAll {
        $script:cert = New-NodeCertificatePem 'pve-old'
        $script:set = New-TestMachineSet
        $pinnedId = '3f9c2a1b7d4e4c0a9b8e6f5d4c3b2a19'   # pve-fra1-a's machine_id in the sample placement policy
        $script:node = $set.Start('pve-node', 'pve-old', $pinnedId)
        $script:root = New-TestEstate -Name rename
        Set-TestSshTargets -Root $root -Default (ConvertTo-TestSshServer $node -User root -UserKeyPath $set.UserKeyPath)
        # The estate names the node by its old name and pins its own certificate: the rename rewrites the name and keeps
        # the pin of the certificate (here it only moves: no pvecm on the machine), and reads both back.
        $script:config = Join-Path $root 'ops/infra-relocation.yaml'
        (Get-Content -Raw $config) -replace '(pve-fra1-a: \{ api_url: "[^"]+", node: )"pve-fra1-a"', "`$1`"pve-old`", node_fingerprint: `"$($cert.Fingerprint)`"" |
            Set-Content -NoNewline $config
        $script:manifest = Join-Path $root 'ops/bindings/infra.relocation.plan.yaml'
        $script:estateFiles = @{ $config = [IO.File]::ReadAllBytes($config); $manifest = [IO.File]::ReadAllBytes($manifest) }
        $script:ledger = Join-Path $root 'receipts/ledger.jsonl'
        $script:id = 'Set-HypervisorHostname'
        function Get-EstateHash { @($config, $manifest) | ForEach-Object { (Get-FileHash $_).Hash } }
    }
    AfterAll {
        if ($script:set) { $set.Dispose() }
    }
    BeforeEach {
        Reset-Node $node
        foreach ($f in $estateFiles.Keys) { [IO.File]::WriteAllBytes($f, $estateFiles[$f]) }
        $script:before = Get-EtcState $node
    }

    It '-WhatIf lists every file the rename would change, host and estate, with the diff, and changes nothing' {
        $estateBefore = Get-EstateHash
        $r = Set-HypervisorHostname -Root $root -HostId pve-fra1-a -WhatIf
        $r.Outcome | Should -Be 'Previewed'
        $r.PreviousName | Should -Be 'pve-old'
        $r.Files | Should -Be @(
            '/etc/hosts', '/etc/hostname'
            '/etc/pve/nodes/pve-old/lrm_status → /etc/pve/nodes/pve-fra1-a/lrm_status'
            '/etc/pve/nodes/pve-old/pve-ssl.key → /etc/pve/nodes/pve-fra1-a/pve-ssl.key'
            '/etc/pve/nodes/pve-old/pve-ssl.pem → /etc/pve/nodes/pve-fra1-a/pve-ssl.pem'   # no pvecm here: no new certificate
            'ops/infra-relocation.yaml', 'ops/bindings/infra.relocation.plan.yaml (ledger_anchor)')
        $r.Steps.State | Select-Object -Unique | Should -Be 'Planned'
        $r.Diff | Should -Match '(?m)^-    pve-fra1-a: \{ api_url: "[^"]+", node: "pve-old", node_fingerprint'
        $r.Diff | Should -Match '(?m)^\+    pve-fra1-a: \{ api_url: "[^"]+", node: "pve-fra1-a", node_fingerprint'
        Compare-EtcState $before (Get-EtcState $node) | Should -BeNullOrEmpty
        $node.Run('uname -n').Stdout.Trim() | Should -Be 'pve-old'
        Get-EstateHash | Should -Be $estateBefore

        # The host's "What if:" text, as a user sees it (a fresh pwsh, its console output): every file and the estate's diff.
        $exe = [Environment]::ProcessPath
        [string[]] $prefix = if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' } else { @() }
        $printed = & $exe @prefix -NoProfile -NonInteractive -Command "`$env:NO_COLOR = 1; Import-Module '$BuiltManifest'; Set-HypervisorHostname -Root '$root' -HostId pve-fra1-a -WhatIf | Out-Null" 2>&1 | Out-String
        $printed | Should -Match "What if: .*Rename Proxmox node 'pve-old' to 'pve-fra1-a', changing /etc/hosts; /etc/hostname; .*; ops/infra-relocation.yaml; ops/bindings/infra.relocation.plan.yaml \(ledger_anchor\)"
        $printed | Should -Match "estate:proxmox-node: ops/infra-relocation.yaml proxmox.hosts.pve-fra1-a: node 'pve-old' → 'pve-fra1-a'"
        $printed | Should -Match '(?m)^\+    pve-fra1-a: \{ api_url: "[^"]+", node: "pve-fra1-a"'
        Get-EstateHash | Should -Be $estateBefore
        Compare-EtcState $before (Get-EtcState $node) | Should -BeNullOrEmpty
    }

    It 'refuses a cluster member with one error and changes nothing' {
        Write-MachineFile $node /etc/pve/corosync.conf "totem {`n  cluster_name: fra1`n}`n"
        $before = Get-EtcState $node
        $err = $null
        $r = Set-HypervisorHostname -Root $root -HostId pve-fra1-a -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
        @($err).Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -Be 'HypervisorRenameClustered,InfraRelocation.Commands.Cmdlets.SetHypervisorHostnameCommand'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
        $err[0].Exception.Message | Should -Match '/etc/pve/corosync.conf'
        $r.Outcome | Should -Be 'Blocked'
        Compare-EtcState $before (Get-EtcState $node) | Should -BeNullOrEmpty
        # /etc/corosync/corosync.conf (corosync configured, pmxcfs not yet synced) is a cluster member too.
        $node.Run('rm /etc/pve/corosync.conf').ExitCode | Should -Be 0
        Write-MachineFile $node /etc/corosync/corosync.conf "totem {`n  cluster_name: fra1`n}`n"
        { Set-HypervisorHostname -Root $root -HostId pve-fra1-a -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'HypervisorRenameClustered,*'
        $node.Run('uname -n').Stdout.Trim() | Should -Be 'pve-old'
    }

    It 'refuses a node with guests with one error and changes nothing' {
        Write-MachineFile $node /etc/pve/nodes/pve-old/qemu-server/101.conf "name: app-core`nmemory: 2048`n"
        Write-MachineFile $node /etc/pve/nodes/pve-old/lxc/200.conf "hostname: dns-core`n"
        $before = Get-EtcState $node
        $err = $null
        $r = Set-HypervisorHostname -Root $root -HostId pve-fra1-a -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
        @($err).Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -Be 'HypervisorRenameHasGuests,InfraRelocation.Commands.Cmdlets.SetHypervisorHostnameCommand'
        $err[0].Exception.Message | Should -Match 'qemu-server/101.conf'
        $err[0].Exception.Message | Should -Match 'lxc/200.conf'
        $r.Outcome | Should -Be 'Blocked'
        (Get-Content $ledger | Select-Object -Last 1 | ConvertFrom-Json).receipt.Outcome | Should -Be 'Blocked'
        Compare-EtcState $before (Get-EtcState $node) | Should -BeNullOrEmpty
    }

    It 'renames a standalone node: exactly the listed files change, each part is verified, a re-run is Unchanged' {
        $r = Set-HypervisorHostname -Root $root -HostId pve-fra1-a -Confirm:$false
        $r.Outcome | Should -Be 'Succeeded' -Because ($r.Steps | ForEach-Object { "$($_.Step): $($_.State) $($_.Evidence)" } | Out-String)
        $r.ReportedName | Should -Be 'pve-fra1-a'
        $after = Get-EtcState $node
        $changed = Compare-EtcState $before $after
        $changed | Should -Be @(
            '/etc/hostname', '/etc/hosts'
            '/etc/pve/nodes/pve-fra1-a/lrm_status', '/etc/pve/nodes/pve-fra1-a/pve-ssl.key', '/etc/pve/nodes/pve-fra1-a/pve-ssl.pem'
            '/etc/pve/nodes/pve-old/lrm_status', '/etc/pve/nodes/pve-old/pve-ssl.key', '/etc/pve/nodes/pve-old/pve-ssl.pem')
        # The receipt lists every one of them (a move names both paths); the moved files kept their bytes.
        $listed = $r.Files | ForEach-Object { $_ -split ' → ' }
        foreach ($f in $changed) { $listed | Should -Contain $f }
        $after['/etc/pve/nodes/pve-fra1-a/pve-ssl.pem'] | Should -Be $before['/etc/pve/nodes/pve-old/pve-ssl.pem']
        ($r.Steps | Where-Object Step -eq 'hosts:/etc/hosts').State | Should -Be 'Done'
        ($r.Steps | Where-Object Step -eq 'hostname:/etc/hostname').State | Should -Be 'Done'
        ($r.Steps | Where-Object Step -eq 'pve:node-directory').State | Should -Be 'Done'
        # No pvecm on this machine: the certificate step says so instead of pretending it regenerated the certificate.
        $certStep = $r.Steps | Where-Object Step -eq 'pve:certificates'
        $certStep.State | Should -Be 'NotApplicable'
        $certStep.Evidence | Should -Match 'NOT regenerated'
        $r.Files | Should -Not -Contain '/etc/pve/nodes/pve-fra1-a/pve-ssl.pem'
        # No mail name, no postfix, no graphs on this node: the rows say so.
        foreach ($step in 'mail:/etc/mailname', 'mail:/etc/postfix/main.cf', 'pve:rrd') {
            $row = $r.Steps | Where-Object Step -eq $step
            $row.State | Should -Be 'NotApplicable'
            $row.Evidence | Should -Match 'not present|are present'
        }
        ($r.Steps | Where-Object Step -eq 'mail:/etc/mailname').Evidence | Should -Match '/etc/mailname is not present'
        # The estate follows: node: names the new node, byte for byte otherwise; the certificate only moved, so its pin stays.
        $pinRow = $r.Steps | Where-Object Step -eq 'estate:proxmox-node'
        $pinRow.State | Should -Be 'Done'
        $pinRow.Evidence | Should -Match "node 'pve-old' → 'pve-fra1-a'"
        $original = [Text.Encoding]::UTF8.GetString($estateFiles[$config])
        Get-Content -Raw $config | Should -BeExactly ($original.Replace('node: "pve-old"', 'node: "pve-fra1-a"'))
        $r.Files | Should -Contain 'ops/infra-relocation.yaml'
        $r.Files | Should -Contain 'ops/bindings/infra.relocation.plan.yaml'
        @($r.EstateFiles.Path) | Should -Be @('ops/infra-relocation.yaml', 'ops/bindings/infra.relocation.plan.yaml')
        $r.TransactionId | Should -Not -BeNullOrEmpty
        # The receipt was recorded in the transaction that wrote the pins: the manifest's ledger_anchor names it.
        Get-Content -Raw $manifest | Should -Match "ledger_anchor: .*tx $($r.TransactionId) after"
        (Get-Content $ledger | Select-Object -Last 1 | ConvertFrom-Json).receipt.TransactionId | Should -Be $r.TransactionId
        # Only the ledger_anchor line of the manifest changed.
        $manifestBefore = [Text.Encoding]::UTF8.GetString($estateFiles[$manifest]) -split "`n"
        $manifestAfter = (Get-Content -Raw $manifest) -split "`n"
        @(Compare-Object $manifestBefore $manifestAfter | Where-Object { $_.InputObject -notmatch '^ledger_anchor:' }) | Should -BeNullOrEmpty
        # The parts, read back: the comment line and the other lines of /etc/hosts kept as they were.
        $node.Run('cat /etc/hosts').Stdout | Should -Be ("127.0.0.1 localhost`n# the node's address: Proxmox resolves the node name through this file`n" +
            "10.0.0.5 pve-fra1-a.int.example.net pve-fra1-a`n::1 localhost ip6-localhost ip6-loopback`n")
        $node.Run('cat /etc/hostname; uname -n').Stdout | Should -Be "pve-fra1-a`npve-fra1-a`n"
        $node.Run('test ! -e /etc/pve/nodes/pve-old').ExitCode | Should -Be 0

        $estateAfter = Get-EstateHash
        $again = Set-HypervisorHostname -Root $root -HostId pve-fra1-a -Confirm:$false
        $again.Outcome | Should -Be 'Unchanged'
        $again.Files | Should -BeNullOrEmpty
        $again.Steps.State | Select-Object -Unique | Should -BeIn @('Unchanged', 'NotApplicable')
        ($again.Steps | Where-Object Step -eq 'estate:proxmox-node').Evidence | Should -Match ([regex]::Escape($cert.Fingerprint))
        Compare-EtcState $after (Get-EtcState $node) | Should -BeNullOrEmpty
        Get-EstateHash | Should -Be $estateAfter
    }

    It 'stops with a failed step when /etc/hosts has no line for the node (pmxcfs would not start), and resumes once it has' {
        Write-MachineFile $node /etc/hosts "127.0.0.1 localhost`n"
        $err = $null
        $r = Set-HypervisorHostname -Root $root -HostId pve-fra1-a -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
        $r.Outcome | Should -Be 'Failed'
        $err[0].FullyQualifiedErrorId | Should -Be 'HypervisorRenameStepFailed,InfraRelocation.Commands.Cmdlets.SetHypervisorHostnameCommand'
        ($r.Steps | Where-Object Step -eq 'hosts:/etc/hosts').Evidence | Should -Match 'no line for pve-old'
        ($r.Steps | Where-Object Step -eq 'hostname:/etc/hostname').State | Should -Be 'NotRun'
        $node.Run('uname -n').Stdout.Trim() | Should -Be 'pve-old'
        Write-MachineFile $node /etc/hosts "127.0.0.1 localhost`n10.0.0.5 pve-old`n"
        (Set-HypervisorHostname -Root $root -HostId pve-fra1-a -Confirm:$false).Outcome | Should -Be 'Succeeded'
        $node.Run('cat /etc/hosts').Stdout | Should -Be "127.0.0.1 localhost`n10.0.0.5 pve-fra1-a`n"
    }

    It 'cannot read the node certificate after the rename: the row stays Failed with the command to pin, the node name is still written' {
        $node.Run('rm /etc/pve/nodes/pve-old/pve-ssl.pem').ExitCode | Should -Be 0
        $err = $null
        $r = Set-HypervisorHostname -Root $root -HostId pve-fra1-a -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
        $r.Outcome | Should -Be 'Failed'
        $row = $r.Steps | Where-Object Step -eq 'estate:proxmox-node'
        $row.State | Should -Be 'Failed'
        $row.Evidence | Should -Match ([regex]::Escape("run 'openssl x509 -noout -fingerprint -sha256 -in /etc/pve/nodes/pve-fra1-a/pve-ssl.pem'"))
        $row.Evidence | Should -Match 'ops/infra-relocation.yaml:\d+:\d+'
        $err.FullyQualifiedErrorId | Should -Contain "HypervisorRenameStepFailed,$((Get-Command Set-HypervisorHostname).ImplementingType.FullName)"
        # The pin was not touched (nothing to put there); the node name was.
        Get-Content -Raw $config | Should -BeExactly ([Text.Encoding]::UTF8.GetString($estateFiles[$config]).Replace('node: "pve-old"', 'node: "pve-fra1-a"'))
        $node.Run('uname -n').Stdout.Trim() | Should -Be 'pve-fra1-a'
    }

    It 'rewrites /etc/mailname and postfix''s myhostname and mydestination, and moves the RRD files, when they name the old node' {
        Write-MachineFile $node /etc/mailname "pve-old.int.example.net`n"
        $mainCf = "# pve-old: a comment keeps the old name`nsmtpd_banner = `$myhostname ESMTP`nmyhostname=pve-old.int.example.net`n" +
            "mydestination = `$myhostname, pve-old.int.example.net, localhost.int.example.net, pve-old, localhost`nrelayhost = pve-old-relay.example.net`n"
        Write-MachineFile $node /etc/postfix/main.cf $mainCf
        Write-MachineFile $node /var/lib/rrdcached/db/pve2-node/pve-old 'node graphs'
        Write-MachineFile $node /var/lib/rrdcached/db/pve2-storage/pve-old/local 'storage graphs'
        $before = Get-EtcState $node

        $preview = Set-HypervisorHostname -Root $root -HostId pve-fra1-a -WhatIf
        $preview.Files | Should -Contain '/etc/mailname'
        $preview.Files | Should -Contain '/etc/postfix/main.cf'
        $preview.Files | Should -Contain '/var/lib/rrdcached/db/pve2-storage/pve-old → /var/lib/rrdcached/db/pve2-storage/pve-fra1-a'
        Compare-EtcState $before (Get-EtcState $node) | Should -BeNullOrEmpty

        $r = Set-HypervisorHostname -Root $root -HostId pve-fra1-a -Confirm:$false
        $r.Outcome | Should -Be 'Succeeded' -Because ($r.Steps | ForEach-Object { "$($_.Step): $($_.State) $($_.Evidence)" } | Out-String)
        foreach ($step in 'mail:/etc/mailname', 'mail:/etc/postfix/main.cf', 'pve:rrd') { ($r.Steps | Where-Object Step -eq $step).State | Should -Be 'Done' }
        $node.Run('cat /etc/mailname').Stdout | Should -Be "pve-fra1-a.int.example.net`n"
        # Only the names on the myhostname and mydestination lines: the comment, the banner and the relay keep theirs.
        $node.Run('cat /etc/postfix/main.cf').Stdout | Should -Be ($mainCf.Replace('myhostname=pve-old.', 'myhostname=pve-fra1-a.').
            Replace(', pve-old.int.example.net, localhost.int.example.net, pve-old, ', ', pve-fra1-a.int.example.net, localhost.int.example.net, pve-fra1-a, '))
        $node.Run('cat /var/lib/rrdcached/db/pve2-node/pve-fra1-a /var/lib/rrdcached/db/pve2-storage/pve-fra1-a/local').Stdout | Should -Be 'node graphsstorage graphs'
        $node.Run('test ! -e /var/lib/rrdcached/db/pve2-node/pve-old && test ! -e /var/lib/rrdcached/db/pve2-storage/pve-old').ExitCode | Should -Be 0
        $changed = Compare-EtcState $before (Get-EtcState $node)
        $changed | Should -Contain '/etc/mailname'
        $changed | Should -Contain '/etc/postfix/main.cf'
        $listed = $r.Files | ForEach-Object { $_ -split ' → ' }
        foreach ($f in $changed) { $listed | Should -Contain $f }
        $listed | Should -Contain '/var/lib/rrdcached/db/pve2-node/pve-fra1-a'
        $listed | Should -Contain '/var/lib/rrdcached/db/pve2-storage/pve-old'

        $after = Get-EtcState $node
        $again = Set-HypervisorHostname -Root $root -HostId pve-fra1-a -Confirm:$false
        $again.Outcome | Should -Be 'Unchanged'
        Compare-EtcState $after (Get-EtcState $node) | Should -BeNullOrEmpty
    }
}
