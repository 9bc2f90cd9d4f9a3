# kill -9 at random moments in the real mutating cmdlets (issue 16, "Done when"; the Core sequence has its own 200-kill
# test in TransitionCrashTests). A child pwsh runs service moves and VM target changes (Set-RelocationServiceStatus,
# Set-RelocationVmTarget) one after another through the built module; the test kills it at a random moment, runs the
# next mutating command (which completes any journal first), and checks the invariant: every estate file holds its
# content before or the content a Succeeded receipt records, no journal is pending, and the receipt chain is intact
# and reaches the head the manifest anchors. Each trial costs one pwsh start;
# $env:INFRA_RELOCATION_CRASH_TRIALS changes the count (default 24, about two minutes on a quiet machine).

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:Trials = if ($env:INFRA_RELOCATION_CRASH_TRIALS) { [int] $env:INFRA_RELOCATION_CRASH_TRIALS } else { 24 }
    # planned services of the sample estate: the child moves these; the next run moves the last one
    $script:Moved = @('bookmarks', 'rss-reader', 'alertmanager', 'loki', 'docs-site', 'ldap-proxy', 'smtp-relay', 'postgres-main', 'redis-cache', 'file-sync')
    $script:NextRun = 'ci-agent'
    # VM targets whose address the child changes between the service moves
    $script:Vms = @('files-core', 'ci-runner', 'backup-proxy', 'dr-standby')

    # SHA-256 of every estate file but the ledger and the tool's own state (what the invariant is about).
    function Get-Snapshot([string] $Root) {
        $h = @{}
        Get-ChildItem $Root -Recurse -File -Force | Where-Object { $_.FullName -notmatch '[\\/](receipts|\.infra-relocation)[\\/]' -and $_.Name -notlike '*.ir-tmp-*' } |
            ForEach-Object { $h[[IO.Path]::GetRelativePath($Root, $_.FullName).Replace('\', '/')] = (Get-FileHash $_.FullName -Algorithm SHA256).Hash.ToLowerInvariant() }
        $h
    }

    # The invariant: each file holds its content before, or a content a Succeeded receipt records (Files[].NewSha256).
    function Test-Invariant([string] $Root, [hashtable] $Before) {
        $recorded = @{}
        foreach ($r in Get-RelocationReceipt -Root $Root -WarningAction SilentlyContinue | Where-Object { $_.Outcome -eq 'Succeeded' -and $_.PSObject.Properties['Files'] }) {
            foreach ($f in $r.Files) { $recorded["$($f.Path) $($f.NewSha256)"] = $true }
        }
        $now = Get-Snapshot $Root
        foreach ($path in @($Before.Keys) + @($now.Keys) | Sort-Object -Unique) {
            if ($now[$path] -ne $Before[$path] -and -not $recorded["$path $($now[$path])"]) { "$path holds content that is neither its content before nor one a receipt records" }
        }
        if (Test-Path (Join-Path $Root '.infra-relocation/journal/*.json')) { 'a journal is still pending' }
    }

    function Start-Mutations([string] $Root) {
        $exe = [Environment]::ProcessPath
        [string[]] $prefix = if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' } else { @() }
        $list = ($script:Moved | ForEach-Object { "'$_'" }) -join ','
        # each service move is followed by a VM target change (another cmdlet, another part of the manifest)
        $vms = ($script:Vms | ForEach-Object { "'$_'" }) -join ','
        $script = "Import-Module '$BuiltManifest'; [Console]::Out.WriteLine('ready'); [Console]::Out.Flush(); `$vms = @($vms); `$i = 0; " +
            "foreach (`$s in @($list)) { Set-RelocationServiceStatus -Root '$Root' -Service `$s -Status shadow -Force -Reason 'crash test' -Confirm:`$false -WarningAction SilentlyContinue -ErrorAction SilentlyContinue | Out-Null; " +
            "Set-RelocationVmTarget -Root '$Root' -Hostname `$vms[`$i % `$vms.Count] -Address `"192.0.2.2`$(`$i++)`" -Confirm:`$false -WarningAction SilentlyContinue -ErrorAction SilentlyContinue | Out-Null }"
        $psi = [Diagnostics.ProcessStartInfo]::new($exe)
        foreach ($a in $prefix + @('-NoProfile', '-NonInteractive', '-Command', $script)) { $psi.ArgumentList.Add($a) }
        $psi.UseShellExecute = $false
        $psi.RedirectStandardOutput = $true
        [Diagnostics.Process]::Start($psi)
    }
}

Describe 'kill -9 in the real mutating cmdlets' {
    It 'after each kill and the next run, every estate file is its content before or one a receipt records' {
        $random = [Random]::new()
        $failures = [Collections.Generic.List[string]]::new()
        $recovered = 0
        for ($trial = 1; $trial -le $Trials; $trial++) {
            $root = New-TestEstate -Name crash
            $before = Get-Snapshot $root
            $child = Start-Mutations $root
            try {
                if ($child.StandardOutput.ReadLine() -ne 'ready') { throw "trial ${trial}: the child did not start" }
                # spread over the twenty transitions (each a few hundred ms): kills land in previews, commits and appends
                Start-Sleep -Milliseconds $random.Next(0, 4000)
            } finally {
                Stop-TestProcess $child
            }
            $pending = @(Get-ChildItem (Join-Path $root '.infra-relocation/journal') -Filter *.json -ErrorAction Ignore).Count
            $next = Set-RelocationServiceStatus -Root $root -Service $NextRun -Status shadow -Force -Reason 'crash test: the next run' -Confirm:$false -WarningAction SilentlyContinue
            if ($pending -gt 0) {
                $recovered++
                if (@($next.RecoveredJournals).Count -ne $pending) { $failures.Add("trial ${trial}: $pending journal(s) pending, the next run recovered $(@($next.RecoveredJournals).Count)") }
            }
            if ($next.Outcome -ne 'Succeeded') { $failures.Add("trial ${trial}: the next run ended $($next.Outcome): $($next.Summary)") }
            foreach ($problem in Test-Invariant $root $before) { $failures.Add("trial ${trial}: $problem") }
            $chain = Test-RelocationReceiptChain -Root $root -WarningAction SilentlyContinue
            if (-not $chain.IsValid -or -not $chain.Anchored) { $failures.Add("trial ${trial}: the chain is $(if ($chain.IsValid) { 'not anchored' } else { $chain.Summary })") }
        }
        Write-Host "Crash test across the cmdlets: $Trials kills, $recovered left a journal the next run completed, $($failures.Count) failure(s)"
        $failures | Should -BeNullOrEmpty
    }
}
