-- CreateEnum
CREATE TYPE "OrchestratorKind" AS ENUM ('swarm', 'kubernetes');

-- CreateEnum
CREATE TYPE "RevisionSource" AS ENUM ('api', 'compose', 'rollback', 'update', 'scale');

-- CreateEnum
CREATE TYPE "OperationKind" AS ENUM ('apply', 'delete', 'scale', 'update', 'rollback', 'job', 'volume_create', 'volume_remove', 'cluster_register', 'cluster_update', 'cluster_remove');

-- CreateEnum
CREATE TYPE "OperationStatus" AS ENUM ('pending', 'running', 'succeeded', 'failed', 'rolled_back', 'paused', 'cancelled');

-- CreateEnum
CREATE TYPE "MetricResolution" AS ENUM ('raw', 'minute', 'hour');

-- CreateEnum
CREATE TYPE "Role" AS ENUM ('viewer', 'operator', 'admin');

-- CreateTable
CREATE TABLE "Cluster" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "kind" "OrchestratorKind" NOT NULL,
    "endpoint" TEXT NOT NULL,
    "credentials" BYTEA NOT NULL,
    "keyId" TEXT NOT NULL,
    "labels" JSONB NOT NULL DEFAULT '{}',
    "createdBy" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,
    "lastHealth" TEXT,
    "lastHealthMessage" TEXT,
    "lastHealthAt" TIMESTAMPTZ(3),
    "lastVersion" TEXT,
    "eventCursor" TEXT,

    CONSTRAINT "Cluster_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "App" (
    "id" UUID NOT NULL,
    "clusterId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "currentRevision" INTEGER,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,
    "deletedAt" TIMESTAMPTZ(3),

    CONSTRAINT "App_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Revision" (
    "id" UUID NOT NULL,
    "appId" UUID NOT NULL,
    "number" INTEGER NOT NULL,
    "spec" JSONB NOT NULL,
    "specHash" TEXT NOT NULL,
    "source" "RevisionSource" NOT NULL,
    "author" TEXT NOT NULL,
    "message" TEXT,
    "warnings" JSONB NOT NULL DEFAULT '[]',
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Revision_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Operation" (
    "id" UUID NOT NULL,
    "clusterId" UUID NOT NULL,
    "appId" UUID,
    "service" TEXT,
    "kind" "OperationKind" NOT NULL,
    "status" "OperationStatus" NOT NULL DEFAULT 'pending',
    "requester" TEXT NOT NULL,
    "idempotencyKey" TEXT,
    "fromRevision" INTEGER,
    "toRevision" INTEGER,
    "request" JSONB NOT NULL,
    "result" JSONB,
    "errorCode" TEXT,
    "error" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMPTZ(3),
    "finishedAt" TIMESTAMPTZ(3),
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Operation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "OperationProgress" (
    "id" BIGSERIAL NOT NULL,
    "operationId" UUID NOT NULL,
    "time" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "service" TEXT,
    "phase" TEXT NOT NULL,
    "message" TEXT,
    "replicasUpdated" INTEGER,
    "replicasReady" INTEGER,
    "replicasTotal" INTEGER,
    "batchesDone" INTEGER,
    "batchesTotal" INTEGER,

    CONSTRAINT "OperationProgress_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "JobRun" (
    "id" UUID NOT NULL,
    "clusterId" UUID NOT NULL,
    "operationId" UUID,
    "app" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "nativeName" TEXT NOT NULL,
    "spec" JSONB NOT NULL,
    "status" TEXT NOT NULL,
    "succeeded" INTEGER NOT NULL DEFAULT 0,
    "failed" INTEGER NOT NULL DEFAULT 0,
    "runs" JSONB NOT NULL DEFAULT '[]',
    "logTail" TEXT,
    "startedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMPTZ(3),

    CONSTRAINT "JobRun_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ClusterEvent" (
    "id" BIGSERIAL NOT NULL,
    "clusterId" UUID NOT NULL,
    "eventId" TEXT NOT NULL,
    "cursor" TEXT NOT NULL,
    "time" TIMESTAMPTZ(3) NOT NULL,
    "objectKind" TEXT NOT NULL,
    "objectName" TEXT NOT NULL,
    "app" TEXT,
    "service" TEXT,
    "action" TEXT NOT NULL,
    "message" TEXT,
    "attributes" JSONB NOT NULL DEFAULT '{}',
    "operationId" UUID,

    CONSTRAINT "ClusterEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "MetricSample" (
    "id" BIGSERIAL NOT NULL,
    "clusterId" UUID NOT NULL,
    "resolution" "MetricResolution" NOT NULL DEFAULT 'raw',
    "time" TIMESTAMPTZ(3) NOT NULL,
    "app" TEXT,
    "service" TEXT,
    "replica" TEXT NOT NULL,
    "node" TEXT,
    "cpuCores" DOUBLE PRECISION NOT NULL,
    "memoryBytes" BIGINT NOT NULL,
    "memoryLimitBytes" BIGINT,
    "netRxBytes" BIGINT NOT NULL,
    "netTxBytes" BIGINT NOT NULL,
    "blockReadBytes" BIGINT NOT NULL,
    "blockWriteBytes" BIGINT NOT NULL,

    CONSTRAINT "MetricSample_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApiToken" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "secretHash" TEXT NOT NULL,
    "salt" TEXT NOT NULL,
    "createdBy" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMPTZ(3),
    "lastUsedAt" TIMESTAMPTZ(3),
    "revokedAt" TIMESTAMPTZ(3),

    CONSTRAINT "ApiToken_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "TokenGrant" (
    "id" UUID NOT NULL,
    "tokenId" UUID NOT NULL,
    "role" "Role" NOT NULL,
    "clusterId" UUID,
    "app" TEXT,

    CONSTRAINT "TokenGrant_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AuditEntry" (
    "id" BIGSERIAL NOT NULL,
    "time" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "target" TEXT,
    "clusterId" UUID,
    "result" TEXT NOT NULL,
    "correlationId" TEXT,
    "details" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "AuditEntry_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Cluster_name_key" ON "Cluster"("name");

-- CreateIndex
CREATE UNIQUE INDEX "App_clusterId_name_key" ON "App"("clusterId", "name");

-- CreateIndex
CREATE INDEX "Revision_appId_createdAt_idx" ON "Revision"("appId", "createdAt" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "Revision_appId_number_key" ON "Revision"("appId", "number");

-- CreateIndex
CREATE INDEX "Operation_clusterId_createdAt_idx" ON "Operation"("clusterId", "createdAt" DESC);

-- CreateIndex
CREATE INDEX "Operation_appId_createdAt_idx" ON "Operation"("appId", "createdAt" DESC);

-- CreateIndex
CREATE INDEX "Operation_status_idx" ON "Operation"("status");

-- CreateIndex
CREATE INDEX "Operation_clusterId_appId_service_status_idx" ON "Operation"("clusterId", "appId", "service", "status");

-- CreateIndex
CREATE UNIQUE INDEX "Operation_requester_idempotencyKey_key" ON "Operation"("requester", "idempotencyKey");

-- CreateIndex
CREATE INDEX "OperationProgress_operationId_time_idx" ON "OperationProgress"("operationId", "time");

-- CreateIndex
CREATE INDEX "JobRun_clusterId_startedAt_idx" ON "JobRun"("clusterId", "startedAt" DESC);

-- CreateIndex
CREATE INDEX "JobRun_clusterId_app_name_idx" ON "JobRun"("clusterId", "app", "name");

-- CreateIndex
CREATE INDEX "ClusterEvent_clusterId_time_idx" ON "ClusterEvent"("clusterId", "time");

-- CreateIndex
CREATE INDEX "ClusterEvent_clusterId_app_service_time_idx" ON "ClusterEvent"("clusterId", "app", "service", "time");

-- CreateIndex
CREATE UNIQUE INDEX "ClusterEvent_clusterId_eventId_key" ON "ClusterEvent"("clusterId", "eventId");

-- CreateIndex
CREATE INDEX "MetricSample_clusterId_app_service_resolution_time_idx" ON "MetricSample"("clusterId", "app", "service", "resolution", "time");

-- CreateIndex
CREATE INDEX "MetricSample_resolution_time_idx" ON "MetricSample"("resolution", "time");

-- CreateIndex
CREATE INDEX "TokenGrant_tokenId_idx" ON "TokenGrant"("tokenId");

-- CreateIndex
CREATE INDEX "AuditEntry_time_idx" ON "AuditEntry"("time" DESC);

-- CreateIndex
CREATE INDEX "AuditEntry_actor_time_idx" ON "AuditEntry"("actor", "time");

-- AddForeignKey
ALTER TABLE "App" ADD CONSTRAINT "App_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "Cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Revision" ADD CONSTRAINT "Revision_appId_fkey" FOREIGN KEY ("appId") REFERENCES "App"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Operation" ADD CONSTRAINT "Operation_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "Cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Operation" ADD CONSTRAINT "Operation_appId_fkey" FOREIGN KEY ("appId") REFERENCES "App"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "OperationProgress" ADD CONSTRAINT "OperationProgress_operationId_fkey" FOREIGN KEY ("operationId") REFERENCES "Operation"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "JobRun" ADD CONSTRAINT "JobRun_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "Cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "JobRun" ADD CONSTRAINT "JobRun_operationId_fkey" FOREIGN KEY ("operationId") REFERENCES "Operation"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ClusterEvent" ADD CONSTRAINT "ClusterEvent_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "Cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ClusterEvent" ADD CONSTRAINT "ClusterEvent_operationId_fkey" FOREIGN KEY ("operationId") REFERENCES "Operation"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "MetricSample" ADD CONSTRAINT "MetricSample_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "Cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TokenGrant" ADD CONSTRAINT "TokenGrant_tokenId_fkey" FOREIGN KEY ("tokenId") REFERENCES "ApiToken"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TokenGrant" ADD CONSTRAINT "TokenGrant_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "Cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;
