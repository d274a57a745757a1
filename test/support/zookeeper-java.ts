/**
 * The command line that starts an Apache ZooKeeper member (QuorumPeerMain) from the Debian
 * package's jars, and the log4j set-up it reads, for every test that runs ZooKeeper's own
 * ensemble next to ours.
 */
import fs from 'node:fs';
import path from 'node:path';

const ZOOKEEPER_CLASSPATH = ['zookeeper.jar', 'log4j-1.2.jar', 'slf4j-log4j12.jar']
  .map((jar) => path.join('/usr/share/java', jar))
  .join(':');

export interface ZooKeeperCommand {
  /** The member's server id, shown on each log line. */
  readonly id: number;
  /** Its zoo.cfg. */
  readonly config: string;
  /** Where log4j.properties is written. */
  readonly dir: string;
  /** A log file, or null for stdout. */
  readonly logFile: string | null;
  /** -Xmx; 256m unless given. */
  readonly heap?: string | undefined;
  /** More JVM options and -D properties, before the class name. */
  readonly jvmOptions?: readonly string[];
}

/** Writes the member's log4j.properties and returns `java` and its arguments. */
export function zooKeeperCommand(c: ZooKeeperCommand): string[] {
  const log4j = path.join(c.dir, 'log4j.properties');
  fs.writeFileSync(log4j, log4jProperties(c.id, c.logFile));
  return [
    'java',
    `-Xmx${c.heap ?? '256m'}`,
    ...(c.jvmOptions ?? []),
    `-Dlog4j.configuration=file:${log4j}`,
    '-cp',
    ZOOKEEPER_CLASSPATH,
    'org.apache.zookeeper.server.quorum.QuorumPeerMain',
    c.config,
  ];
}

function log4jProperties(id: number, logFile: string | null): string {
  const appender =
    logFile === null
      ? ['log4j.appender.OUT=org.apache.log4j.ConsoleAppender']
      : ['log4j.appender.OUT=org.apache.log4j.FileAppender', `log4j.appender.OUT.File=${logFile}`];
  return [
    'log4j.rootLogger=INFO, OUT',
    ...appender,
    'log4j.appender.OUT.layout=org.apache.log4j.PatternLayout',
    `log4j.appender.OUT.layout.ConversionPattern=%d{ISO8601} [myid:${id}] %-5p [%t:%C{1}@%L] - %m%n`,
    '',
  ].join('\n');
}
